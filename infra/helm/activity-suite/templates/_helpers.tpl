{{/* Names: <release>-<component>, trimmed to 63 characters. */}}
{{- define "suite.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .svc.component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "suite.selectorLabels" -}}
app.kubernetes.io/name: {{ .svc.component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "suite.labels" -}}
{{ include "suite.selectorLabels" . }}
app.kubernetes.io/part-of: activity-suite
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* repository/component@digest when image.digests names one for the component, else :tag. */}}
{{- define "suite.image" -}}
{{- $digest := index (default dict .root.Values.image.digests) .svc.component -}}
{{- if $digest -}}
{{- printf "%s/%s@%s" .root.Values.image.repository .svc.component $digest -}}
{{- else -}}
{{- printf "%s/%s:%s" .root.Values.image.repository .svc.component (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The standard labels of an object that belongs to no one service (Job, Ingress, Secret, rules). */}}
{{- define "suite.commonLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: activity-suite
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "suite.secretName" -}}
{{- default (printf "%s-connections" .Release.Name) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* preStop pause + drain + the services' 5 s cleanup (server-kit CLEANUP_MS) + 5 s headroom:
  the kubelet never SIGKILLs a pod that is still shutting down cleanly. */}}
{{- define "suite.terminationGrace" -}}
{{- add (div (int .Values.config.shutdownGraceMs) 1000) (int .Values.preStopSeconds) 10 -}}
{{- end -}}

{{/* The three services as a list of {key, svc} for range loops. */}}
{{- define "suite.enabled" -}}
{{- range $key := list "users" "activity" "gateway" -}}
{{- $svc := index $.Values.services $key -}}
{{- if $svc.enabled }}{{ $key }} {{ end -}}
{{- end -}}
{{- end -}}
