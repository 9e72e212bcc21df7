import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { z } from 'zod';
import { env } from '@suite/config';

/** Tracing variables (OpenTelemetry's own names). Tracing is off unless an endpoint is set. */
export const telemetryEnv = {
  /** OTLP/HTTP collector base URL, e.g. http://otel-collector:4318 (traces go to /v1/traces). */
  OTEL_EXPORTER_OTLP_ENDPOINT: env.optionalString(),
  /** Share of new traces sampled (parent-based: a sampled caller's trace is always kept). */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
};

export interface Tracing {
  readonly enabled: boolean;
  /** Flushes and stops exporting (at shutdown). */
  shutdown(): Promise<void>;
}

const off: Tracing = { enabled: false, shutdown: async () => undefined };
let active: { tracing: Tracing; provider: TracerProvider } | undefined;

/**
 * Registers the global tracer provider, W3C propagator and async context once per process. With
 * neither an endpoint nor a span processor (tests) it does nothing: instrumentation below stays
 * a no-op and costs nothing.
 */
export function startTracing(
  serviceName: string,
  options: { endpoint?: string | undefined; sampleRatio?: number; spanProcessor?: SpanProcessor },
): Tracing {
  if (active) return active.tracing;
  if (!options.endpoint && !options.spanProcessor) return off;
  const processor =
    options.spanProcessor ??
    new BatchSpanProcessor({
      exporter: new OTLPTraceExporter({ url: `${options.endpoint!.replace(/\/$/, '')}/v1/traces` }),
    });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    sampler: new ParentBasedSampler({
      root: new TraceIdRatioBasedSampler(options.sampleRatio ?? 1),
    }),
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const tracing: Tracing = { enabled: true, shutdown: () => provider.shutdown() };
  active = { tracing, provider };
  return tracing;
}

const tracer = () => trace.getTracer('activity-suite');

/** The context a W3C `traceparent` (and optional `tracestate`) describes. */
export function contextFrom(traceparent: string | undefined, tracestate?: string): Context {
  if (!traceparent) return context.active();
  return propagation.extract(context.active(), {
    traceparent,
    ...(tracestate ? { tracestate } : {}),
  });
}

/**
 * Express middleware: one SERVER span per request, child of the caller's trace, named by the
 * route template `routeOf` reads once the route matched (the one the HTTP metrics use).
 */
export function httpTracing<
  Req extends {
    method: string;
    headers: Record<string, string | string[] | undefined>;
    originalUrl: string;
  },
>(routeOf: (req: Req) => string | undefined) {
  return (
    req: Req,
    res: { statusCode: number; once(event: 'finish' | 'close', fn: () => void): unknown },
    next: () => void,
  ) => {
    if (!active) {
      next();
      return;
    }
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer().startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': req.method,
          'url.path': req.originalUrl.split('?')[0],
        },
      },
      parent,
    );
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route = routeOf(req);
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  };
}

/** A CONSUMER span for one applied chunk, linked to each record's producer context (at most 32 links). */
export function startConsumeSpan(
  name: string,
  traceparents: (string | undefined)[],
  attributes: Record<string, string | number>,
): Span | undefined {
  if (!active) return undefined;
  const links: Link[] = [];
  for (const tp of traceparents) {
    if (!tp || links.length >= 32) continue;
    const spanContext = trace.getSpanContext(contextFrom(tp));
    if (spanContext) links.push({ context: spanContext });
  }
  return tracer().startSpan(name, { kind: SpanKind.CONSUMER, links, attributes });
}

/** Runs `fn` inside a span that continues the trace `traceparent` names (the gateway's delivery). */
export function withContinuedSpan<T>(
  name: string,
  traceparent: string | undefined,
  attributes: Record<string, string | number>,
  fn: () => T,
): T {
  if (!active || !traceparent) return fn();
  const span = tracer().startSpan(
    name,
    { kind: SpanKind.INTERNAL, attributes },
    contextFrom(traceparent),
  );
  try {
    return fn();
  } finally {
    span.end();
  }
}

/** For tests: record spans in memory instead of exporting them. */
export { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
