import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { TopicPartitions, dlqTopic } from '@suite/contracts';
import { ensureHelm } from '@suite/local-infra';
import { CLEANUP_MS } from '@suite/server-kit';
import { activityConfigShape } from '@suite/activity-service';
import { gatewayConfigShape } from '@suite/stream-gateway';
import { usersConfigShape } from '@suite/users-service';
import { upstreamFor, type Upstream } from './edge-routes.js';
import { chartReadme, chartReadmeText } from './chart-readme.js';
import { defaultMetrics, definedMetrics, metricsIn } from './metric-names.js';

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const chart = resolve(root, 'infra/helm/activity-suite');
const production = resolve(chart, 'ci/production-values.yaml');
const KUBE = '1.31.0';
const defaults = [
  '--set',
  'secrets.jwtSecret=0123456789abcdef0123456789abcdef',
  '--set',
  'secrets.usersEventsSigningKey=fedcba9876543210fedcba9876543210',
];

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered YAML, checked field by field below
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

let helm: string;
const render = async (...args: string[]): Promise<K8sObject[]> => {
  const { stdout } = await exec(
    helm,
    ['template', 'suite', chart, '--kube-version', KUBE, ...args],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject)
    .filter(Boolean);
};
const renders: Record<'default' | 'production', K8sObject[]> = { default: [], production: [] };

/** The kubernetes-models class for an object (core, KEDA and Prometheus Operator groups). */
async function modelFor(o: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = o.apiVersion.includes('/')
    ? o.apiVersion.split('/')
    : ['', o.apiVersion];
  const module =
    group === 'keda.sh'
      ? `@kubernetes-models/keda/keda.sh/${version}`
      : group === 'monitoring.coreos.com'
        ? `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`
        : `kubernetes-models/${group ? `${group}/` : ''}${version}`;
  const exports = (await import(module)) as Record<
    string,
    new (data: unknown) => { validate(): void }
  >;
  const model = exports[o.kind];
  if (!model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  return model;
}

const services = {
  'users-service': usersConfigShape,
  'activity-service': activityConfigShape,
  'stream-gateway': gatewayConfigShape,
} as const;
const of = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: K8sObject[], kind: string, service: string) =>
  of(objects, kind).find((o) => o.metadata.name === `suite-${service}`);

beforeAll(async () => {
  helm = await ensureHelm();
  renders.default = await render(...defaults);
  renders.production = await render('-f', production);
}, 15 * 60_000);

describe('the Helm chart', () => {
  it('lints with default and production-like values', async () => {
    for (const args of [defaults, ['-f', production]]) {
      const { stdout } = await exec(helm, [
        'lint',
        chart,
        '--strict',
        '--kube-version',
        KUBE,
        ...args,
      ]);
      expect(stdout).toContain('0 chart(s) failed');
    }
  });

  it('renders only objects that validate against the Kubernetes (and KEDA, Prometheus Operator) schemas', async () => {
    for (const [name, objects] of Object.entries(renders)) {
      expect(objects.length, name).toBeGreaterThan(10);
      for (const o of objects) {
        const Model = await modelFor(o);
        expect(
          () => new Model(o).validate(),
          `${name}: ${o.kind} ${o.metadata.name}`,
        ).not.toThrow();
      }
    }
    // The validators do catch a broken object.
    const deployment = structuredClone(named(renders.default, 'Deployment', 'users-service')!);
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    const Deployment = await modelFor(deployment);
    expect(() => new Deployment(deployment).validate()).toThrow();
  });

  it('runs each service non-root on a read-only root, with process-only liveness, dependency readiness and a grace period longer than the drain', () => {
    for (const objects of Object.values(renders)) {
      for (const service of Object.keys(services)) {
        const pod = named(objects, 'Deployment', service)!.spec.template.spec;
        const [container] = pod.containers;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
        expect(container.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
        expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        expect(container.livenessProbe.httpGet.path).toBe('/healthz');
        expect(container.startupProbe.httpGet.path).toBe('/healthz');
        // The activity-service's reads need Redis and the projections only, not Kafka nor a joined consumer.
        expect(container.readinessProbe.httpGet.path).toBe(
          service === 'activity-service' ? '/readyz?check=redis,projections' : '/readyz',
        );
        expect(container.resources.requests).toBeDefined();
        expect(container.resources.limits.memory).toBeDefined();
        const drainS = Number(named(objects, 'ConfigMap', service)!.data!.SHUTDOWN_GRACE_MS) / 1000;
        const pauseS = Number(container.lifecycle.preStop.exec.command[1]);
        expect(pauseS).toBeGreaterThan(0);
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
          pauseS + drainS + CLEANUP_MS / 1000,
        );
      }
    }
  });

  it('runs the topic Job against TLS + SASL Kafka with credentials from a Secret that exists before install', async () => {
    const job = of(renders.production, 'Job')[0]!;
    const container = job.spec.template.spec.containers[0];
    expect(container.env.filter((e: { valueFrom?: unknown }) => e.valueFrom)).toEqual([
      {
        name: 'KAFKA_SASL_USERNAME',
        valueFrom: {
          secretKeyRef: { name: 'activity-suite-connections', key: 'TOPICS_KAFKA_SASL_USERNAME' },
        },
      },
      {
        name: 'KAFKA_SASL_PASSWORD',
        valueFrom: {
          secretKeyRef: { name: 'activity-suite-connections', key: 'TOPICS_KAFKA_SASL_PASSWORD' },
        },
      },
    ]);
    expect(container.args[0]).toContain('security.protocol=SASL_SSL');
    expect(container.args[0]).toContain('sasl.mechanism=SCRAM-SHA-512');
    expect(container.args[0]).toContain('--command-config "$props"');
    // The chart's own Secret does not exist yet when a pre-install hook runs: refused at render.
    const sasl = [
      '--set',
      'config.kafka.saslMechanism=scram-sha-512',
      ...['usersService', 'activityService'].flatMap((s) => [
        '--set',
        `secrets.kafkaSasl.${s}.username=u`,
        '--set',
        `secrets.kafkaSasl.${s}.password=p`,
      ]),
    ];
    await expect(render(...defaults, ...sasl)).rejects.toThrow(
      /topic Job needs credentials from a Secret that exists before install/,
    );
    const own = await render(...defaults, ...sasl, '--set', 'topics.credentialsSecret=kafka-admin');
    expect(JSON.stringify(of(own, 'Job')[0]!.spec.template.spec.containers[0].env)).toContain(
      '"name":"kafka-admin"',
    );
    // Plaintext Kafka (the default values): no credentials, an empty client configuration.
    const plain = of(renders.default, 'Job')[0]!.spec.template.spec.containers[0];
    expect(plain.env.some((e: { valueFrom?: unknown }) => e.valueFrom)).toBe(false);
    expect(plain.args[0]).not.toContain('security.protocol');
  });

  it('wires every variable each service reads, and nothing it does not read', () => {
    // Read by Node itself, not by a service's configuration.
    const RUNTIME_VARIABLES = new Set(['TMPDIR', 'NODE_OPTIONS']);
    for (const [service, shape] of Object.entries(services)) {
      const wired = new Set<string>();
      for (const objects of Object.values(renders)) {
        const container = named(objects, 'Deployment', service)!.spec.template.spec.containers[0];
        const names = [
          ...Object.keys(named(objects, 'ConfigMap', service)!.data!),
          ...container.env.map((e: { name: string }) => e.name),
        ].filter((n) => !RUNTIME_VARIABLES.has(n));
        for (const n of names) {
          expect(Object.keys(shape), `${service} does not read ${n}`).toContain(n);
          wired.add(n);
        }
      }
      expect([...wired].sort(), service).toEqual(Object.keys(shape).sort());
    }
  });

  it('scales the users-service and the gateway on CPU, and the activity-service on lag never beyond the partitions', async () => {
    for (const objects of Object.values(renders)) {
      expect(
        of(objects, 'HorizontalPodAutoscaler')
          .map((h) => h.spec.scaleTargetRef.name)
          .sort(),
      ).toEqual(['suite-stream-gateway', 'suite-users-service']);
      expect(of(objects, 'PodDisruptionBudget')).toHaveLength(3);
    }
    const [scaled] = of(renders.production, 'ScaledObject');
    expect(scaled!.spec.maxReplicaCount).toBeLessThanOrEqual(TopicPartitions['activity.events']);
    expect(scaled!.spec.triggers[0]).toMatchObject({
      type: 'kafka',
      metadata: { topic: 'activity.events', consumerGroup: 'activity-projector' },
    });
    expect(
      named(renders.production, 'Deployment', 'activity-service')!.spec.replicas,
    ).toBeUndefined();
    await expect(
      render('-f', production, '--set', 'services.activity.keda.maxReplicas=7'),
    ).rejects.toThrow(/above the partitions/);
    await expect(render()).rejects.toThrow(/secrets.jwtSecret/);
    // An identity provider's keys without iss/aud pinned would accept its tokens for other APIs.
    await expect(render('-f', production, '--set', 'config.jwt.audience=')).rejects.toThrow(
      /config.jwt.audience is required/,
    );
  });

  it('provisions every topic from the contracts with its partition count, before install and upgrade', () => {
    const [job] = of(renders.default, 'Job');
    expect(job!.metadata.annotations!['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const script = job!.spec.template.spec.containers[0].args.join('\n');
    for (const [topic, partitions] of Object.entries(TopicPartitions)) {
      expect(script).toContain(`${topic}:${partitions}`);
      expect(script).toContain(`${dlqTopic(topic)}:1`);
    }
  });

  it('routes like the local edge, with long unbuffered timeouts only on the stream route', () => {
    const ingresses = of(renders.production, 'Ingress');
    const routes = ingresses.flatMap((i) =>
      i.spec.rules[0].http.paths.map(
        (p: { path: string; pathType: string; backend: { service: { name: string } } }) => ({
          ...p,
          stream: i.metadata.name.endsWith('-stream'),
        }),
      ),
    );
    const upstream = (path: string): Upstream | undefined => {
      // ingress-nginx with use-regex: the longest path first, each as a case-sensitive regex prefix.
      const match = [...routes]
        .sort((a, b) => b.path.length - a.path.length)
        .find((r) => new RegExp(`^${r.path}`).test(path));
      if (!match) return undefined;
      return (
        {
          'suite-users-service': 'users',
          'suite-activity-service': 'activity',
          'suite-stream-gateway': 'gateway',
        } as const
      )[match.backend.service.name as 'suite-users-service'];
    };
    for (const path of [
      '/api/v1/users',
      '/api/v1/users/42',
      '/api/v1/users/42/workspaces',
      '/api/v1/groups',
      '/api/v1/users/42/activities',
      '/api/v1/users/42/activity-count',
      '/api/v1/users/42/active-workspaces',
      '/api/v1/activities',
      '/api/v1/users/42/activity-stream',
      '/metrics',
      '/readyz',
      '/',
    ]) {
      expect(upstream(path), path).toBe(upstreamFor(path));
    }
    // The /demo console is off in the chart (DEMO_ENABLED=false), so nothing routes to it.
    expect(upstream('/demo')).toBeUndefined();
    expect(named(renders.production, 'ConfigMap', 'stream-gateway')!.data!.DEMO_ENABLED).toBe(
      'false',
    );
    const stream = ingresses.find((i) => i.metadata.name.endsWith('-stream'))!;
    expect(
      Number(stream.metadata.annotations!['nginx.ingress.kubernetes.io/proxy-read-timeout']),
    ).toBeGreaterThanOrEqual(3600);
    expect(
      ingresses.find((i) => i.metadata.name.endsWith('-api'))!.metadata.annotations![
        'nginx.ingress.kubernetes.io/proxy-read-timeout'
      ],
    ).toBeUndefined();
  });

  it('labels every object the standard way, and has the knobs platform teams expect (digest, ServiceAccount, priority, spread)', async () => {
    for (const objects of Object.values(renders)) {
      for (const o of objects) {
        for (const label of [
          'app.kubernetes.io/instance',
          'app.kubernetes.io/part-of',
          'app.kubernetes.io/managed-by',
          'app.kubernetes.io/version',
          'helm.sh/chart',
        ]) {
          expect(
            o.metadata.labels?.[label],
            `${o.kind} ${o.metadata.name}: ${label}`,
          ).toBeDefined();
        }
      }
    }
    const digest = `sha256:${'a'.repeat(64)}`;
    const custom = await render(
      ...defaults,
      '--set',
      `image.digests.users-service=${digest}`,
      '--set',
      'serviceAccountName=suite',
      '--set',
      'priorityClassName=high',
      '--set',
      'topologySpread={topology.kubernetes.io/zone}',
    );
    const pod = named(custom, 'Deployment', 'users-service')!.spec.template.spec;
    expect(pod.containers[0].image).toBe(`activity-suite/users-service@${digest}`);
    expect(
      named(custom, 'Deployment', 'activity-service')!.spec.template.spec.containers[0].image,
    ).toMatch(/^activity-suite\/activity-service:/);
    expect(pod).toMatchObject({
      serviceAccountName: 'suite',
      priorityClassName: 'high',
      automountServiceAccountToken: false,
    });
    expect(
      pod.topologySpreadConstraints.map((c: { topologyKey: string }) => c.topologyKey),
    ).toEqual(['topology.kubernetes.io/zone']);
    expect(
      named(
        renders.default,
        'Deployment',
        'users-service',
      )!.spec.template.spec.topologySpreadConstraints.map(
        (c: { topologyKey: string }) => c.topologyKey,
      ),
    ).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    await expect(
      render(...defaults, '--set', 'image.digests.users-service=latest'),
    ).rejects.toThrow(/digests/);
  });

  it('rolls the gateway a quarter at a time with each new pod ready 10 s first, and scales it on memory, CPU and (optionally) its open connections', async () => {
    const gateway = named(renders.production, 'Deployment', 'stream-gateway')!;
    expect(gateway.spec).toMatchObject({
      minReadySeconds: 10,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
    });
    const hpa = (objects: K8sObject[]) =>
      of(objects, 'HorizontalPodAutoscaler').find(
        (h) => h.metadata.name === 'suite-stream-gateway',
      )!;
    expect(
      hpa(renders.production).spec.metrics.map(
        (m: { resource?: { name: string } }) => m.resource?.name,
      ),
    ).toEqual(['cpu', 'memory']);
    expect(hpa(renders.production).spec.behavior.scaleDown).toMatchObject({
      stabilizationWindowSeconds: 300,
      policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
    });
    const withConnections = hpa(
      await render(
        '-f',
        production,
        '--set',
        'services.gateway.autoscaling.connectionsPerPod=3000',
      ),
    );
    expect(withConnections.spec.metrics[2]).toEqual({
      type: 'Pods',
      pods: {
        metric: { name: 'stream_connections' },
        target: { type: 'AverageValue', averageValue: '3000' },
      },
    });
  });

  it('routes with a Gateway API HTTPRoute like the local edge, with no request timeout on the stream only', async () => {
    await expect(render('-f', production, '--set', 'gatewayApi.enabled=true')).rejects.toThrow(
      /parentRefs/,
    );
    const objects = await render(
      '-f',
      production,
      '--set',
      'gatewayApi.enabled=true',
      '--set',
      'gatewayApi.parentRefs[0].name=public',
      '--set',
      'gatewayApi.hostnames[0]=activity.example.com',
    );
    const [route] = of(objects, 'HTTPRoute');
    expect(route!.spec).toMatchObject({
      parentRefs: [{ name: 'public' }],
      hostnames: ['activity.example.com'],
    });
    type Rule = {
      matches: { path: { type: string; value: string } }[];
      backendRefs: { name: string }[];
      timeouts?: { request: string };
    };
    const rules = route!.spec.rules as Rule[];
    const upstream = (path: string): Upstream | undefined => {
      // Envoy Gateway's and Istio's order: regular expressions (full match) before prefixes, longest prefix first.
      const candidates = rules.flatMap((rule) => rule.matches.map((m) => ({ ...m.path, rule })));
      const regex = candidates
        .filter((c) => c.type === 'RegularExpression')
        .find((c) => new RegExp(`^(?:${c.value})$`).test(path));
      const prefix = candidates
        .filter((c) => c.type === 'PathPrefix')
        .sort((a, b) => b.value.length - a.value.length)
        .find(
          (c) =>
            path === c.value.replace(/\/$/, '') ||
            path.startsWith(c.value.endsWith('/') ? c.value : `${c.value}/`),
        );
      const match = regex ?? prefix;
      return (
        match &&
        (
          {
            'suite-users-service': 'users',
            'suite-activity-service': 'activity',
            'suite-stream-gateway': 'gateway',
          } as const
        )[match.rule.backendRefs[0]!.name as 'suite-users-service']
      );
    };
    for (const path of [
      '/api/v1/users',
      '/api/v1/users/42',
      '/api/v1/users/42/workspaces',
      '/api/v1/groups',
      '/api/v1/users/42/activities',
      '/api/v1/users/42/activity-count',
      '/api/v1/users/42/active-workspaces',
      '/api/v1/activities',
      '/api/v1/users/42/activity-stream',
      '/metrics',
      '/readyz',
      '/',
    ]) {
      expect(upstream(path), path).toBe(upstreamFor(path));
    }
    expect(upstream('/demo')).toBeUndefined();
    expect(rules.map((r) => r.timeouts?.request)).toEqual(['0s', '30s', '30s']);
  });

  it('opens egress only to DNS and the listed data stores when networkPolicy.egressTo is set, and paces KEDA scale-down by HPA behavior (cooldownPeriod only acts at zero)', async () => {
    for (const policy of of(renders.default, 'NetworkPolicy'))
      expect(policy.spec.policyTypes).toEqual(['Ingress']);
    const stores = {
      to: [{ ipBlock: { cidr: '10.20.0.0/16' } }],
      ports: [{ port: 9093 }, { port: 27017 }, { port: 6379 }],
    };
    const closed = await render(
      ...defaults,
      '--set-json',
      `networkPolicy.egressTo=${JSON.stringify([stores])}`,
    );
    for (const policy of of(closed, 'NetworkPolicy')) {
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(policy.spec.egress).toEqual([
        {
          ports: [
            { port: 53, protocol: 'UDP' },
            { port: 53, protocol: 'TCP' },
          ],
        },
        stores,
      ]);
    }
    const [scaled] = of(renders.production, 'ScaledObject');
    expect(scaled!.spec.cooldownPeriod).toBeUndefined();
    expect(scaled!.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown).toMatchObject({
      stabilizationWindowSeconds: 300,
    });
    await expect(
      render('-f', production, '--set', 'services.activity.keda.minReplicas=0'),
    ).rejects.toThrow(/minReplicas/);
  });

  it('has a README that lists every value with its default and comment, generated from values.yaml (npm run chart:readme)', () => {
    expect(
      readFileSync(chartReadme, 'utf8'),
      'the chart README is stale: run npm run chart:readme',
    ).toBe(chartReadmeText());
    for (const path of [
      'config.kafka.ssl',
      'topics.credentialsSecret',
      'gatewayApi.parentRefs',
      'services.gateway.minReadySeconds',
      'networkPolicy.egressTo',
      'image.digests',
    ]) {
      expect(chartReadmeText()).toContain(`| \`${path}\` |`);
    }
  });

  it('renders no Ingress unless asked, and never one without a host (it would claim /api/v1/ for every unmatched host)', async () => {
    expect(of(renders.default, 'Ingress')).toHaveLength(0);
    await expect(render(...defaults, '--set', 'ingress.enabled=true')).rejects.toThrow(
      /ingress.host/,
    );
    const withDemo = await render(
      '-f',
      production,
      '--set',
      'services.gateway.env.DEMO_ENABLED=true',
    );
    const paths = of(withDemo, 'Ingress').flatMap((i) =>
      i.spec.rules[0].http.paths.map((p: { path: string }) => p.path),
    );
    expect(paths).toContain('/demo');
  });

  it('keeps secrets out of ConfigMaps, and uses an existing Secret when named', () => {
    for (const cm of of(renders.default, 'ConfigMap')) {
      for (const key of ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'MONGO_URL', 'REDIS_URL'])
        expect(Object.keys(cm.data!)).not.toContain(key);
    }
    expect(of(renders.default, 'Secret')).toHaveLength(1);
    expect(of(renders.production, 'Secret')).toHaveLength(0);
    const env = named(renders.production, 'Deployment', 'users-service')!.spec.template.spec
      .containers[0].env;
    expect(
      env.find((e: { name: string }) => e.name === 'MONGO_URL').valueFrom.secretKeyRef.name,
    ).toBe('activity-suite-connections');
    expect(of(renders.production, 'ServiceMonitor')).toHaveLength(3);
  });

  it('gives each service its own Kafka principal, and the users.events origin key only to its signer and its checker', async () => {
    const secretKey = (objects: K8sObject[], service: string, variable: string) =>
      named(objects, 'Deployment', service)!.spec.template.spec.containers[0].env.find(
        (e: { name: string }) => e.name === variable,
      )?.valueFrom.secretKeyRef.key as string | undefined;
    expect(secretKey(renders.production, 'users-service', 'KAFKA_SASL_USERNAME')).toBe(
      'USERS_SERVICE_KAFKA_SASL_USERNAME',
    );
    expect(secretKey(renders.production, 'activity-service', 'KAFKA_SASL_PASSWORD')).toBe(
      'ACTIVITY_SERVICE_KAFKA_SASL_PASSWORD',
    );
    expect(secretKey(renders.production, 'stream-gateway', 'KAFKA_SASL_USERNAME')).toBeUndefined();
    for (const service of ['users-service', 'activity-service'])
      expect(secretKey(renders.default, service, 'USERS_EVENTS_SIGNING_KEY')).toBe(
        'USERS_EVENTS_SIGNING_KEY',
      );
    expect(
      secretKey(renders.default, 'stream-gateway', 'USERS_EVENTS_SIGNING_KEY'),
    ).toBeUndefined();
    await expect(
      render('--set', 'secrets.jwtSecret=0123456789abcdef0123456789abcdef'),
    ).rejects.toThrow(/secrets.usersEventsSigningKey/);
    const sasl = [
      '--set',
      'config.kafka.saslMechanism=scram-sha-512',
      '--set',
      'secrets.kafkaSasl.usersService.username=users',
      '--set',
      'secrets.kafkaSasl.usersService.password=pw',
      '--set',
      'topics.credentialsSecret=kafka-admin',
    ];
    await expect(render(...defaults, ...sasl)).rejects.toThrow(
      /ACTIVITY_SERVICE in secrets.kafkaSasl/,
    );
  });

  it('lets only the ingress controller and Prometheus reach the services’ pods', () => {
    for (const objects of Object.values(renders)) {
      const policies = of(objects, 'NetworkPolicy');
      expect(policies.map((p) => p.metadata.name).sort()).toEqual([
        'suite-activity-service',
        'suite-stream-gateway',
        'suite-users-service',
      ]);
      for (const policy of policies) {
        const deployment = named(
          objects,
          'Deployment',
          policy.metadata.name.replace('suite-', ''),
        )!;
        expect(deployment.spec.template.metadata.labels).toMatchObject(
          policy.spec.podSelector.matchLabels,
        );
        expect(policy.spec.policyTypes).toEqual(['Ingress']);
        const sources = policy.spec.ingress.flatMap(
          (rule: { from: { namespaceSelector: { matchLabels: Record<string, string> } }[] }) =>
            rule.from.map(
              (peer) => peer.namespaceSelector.matchLabels['kubernetes.io/metadata.name'],
            ),
        );
        expect(sources).toEqual(['ingress-nginx', 'monitoring']);
      }
    }
  });

  it('refuses values of the wrong type or outside their set (values.schema.json), naming the path', async () => {
    await expect(render(...defaults, '--set', 'services.users.replicas=two')).rejects.toThrow(
      /services\.users\.replicas/,
    );
    await expect(render(...defaults, '--set', 'config.kafka.saslMechanism=scram')).rejects.toThrow(
      /saslMechanism/,
    );
    await expect(render(...defaults, '--set', 'config.rateLimits.searchPerMin=0')).rejects.toThrow(
      /searchPerMin/,
    );
  });

  it('rolls pods when what they read changes, not when scaling bounds do; drains are never blocked', async () => {
    const checksums = (objects: K8sObject[], service: string) =>
      named(objects, 'Deployment', service)!.spec.template.metadata.annotations as Record<
        string,
        string
      >;
    const base = checksums(renders.production, 'stream-gateway');
    const rescaled = checksums(
      await render('-f', production, '--set', 'services.gateway.autoscaling.maxReplicas=60'),
      'stream-gateway',
    );
    expect(rescaled).toEqual(base);
    const newSecret = checksums(
      await render(
        ...defaults.slice(0, 2),
        '--set',
        'secrets.usersEventsSigningKey=another-key-another-key-another-key-0',
      ),
      'activity-service',
    );
    expect(newSecret['checksum/secret']).not.toBe(
      checksums(renders.default, 'activity-service')['checksum/secret'],
    );
    const newEnv = checksums(
      await render('-f', production, '--set', 'services.gateway.env.STREAM_HEARTBEAT_MS=20000'),
      'stream-gateway',
    );
    expect(newEnv['checksum/config']).not.toBe(base['checksum/config']);
    for (const pdb of of(renders.production, 'PodDisruptionBudget')) {
      expect(pdb.spec.minAvailable).toBeUndefined();
      expect(pdb.spec.maxUnavailable).toBe('10%');
      expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    }
  });

  it('alerts only on metrics the services export (and kube-state-metrics readiness)', () => {
    const [rule] = of(renders.production, 'PrometheusRule');
    const exprs: string[] = rule!.spec.groups.flatMap((g: { rules: { expr: string }[] }) =>
      g.rules.map((r) => r.expr),
    );
    expect(exprs.length).toBeGreaterThanOrEqual(5);
    const known = [...definedMetrics(), ...defaultMetrics, 'kube_pod_status_ready'];
    for (const name of exprs.flatMap(metricsIn)) expect(known, name).toContain(name);
    // A counter with no series yet (fresh pods, Kafka down from the start) must count as zero, or the outbox alert never fires.
    const stuck = rule!.spec.groups
      .flatMap((g: { rules: { alert: string; expr: string }[] }) => g.rules)
      .find((r: { alert: string }) => r.alert === 'UsersOutboxStuck')!;
    expect(stuck.expr).toMatch(
      /\(sum\(rate\(outbox_events_published_total[^)]*\)\) or vector\(0\)\) == 0/,
    );
  });
});
