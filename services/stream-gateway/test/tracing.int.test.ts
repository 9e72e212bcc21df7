import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor, startTracing } from '@suite/telemetry';
import { signDevToken } from '@suite/auth';
import { collectTopic, eventually } from '@suite/testkit';
import { activityEvent, openStream, secret, startStack, token } from './helpers.js';

// Tracing on for this process (its own fork): every span lands in memory.
const exporter = new InMemorySpanExporter();
startTracing('tracing-test', { spanProcessor: new SimpleSpanProcessor({ exporter }) });

let stack: Awaited<ReturnType<typeof startStack>>;
beforeAll(async () => {
  stack = await startStack('tracing');
});
afterAll(async () => {
  await stack.stop();
});

describe('W3C trace context', () => {
  it("when an HTTP request publishes an activity, then its trace goes through the Kafka header and the projection to the gateway's delivery", async () => {
    const user = 81;
    const stream = await openStream(stack.url(user), {
      headers: { authorization: `Bearer ${await token(String(user))}` },
    });
    const topic = await collectTopic(
      stack.infra.kafkaBrokers,
      `${stack.names.topicPrefix}activity.events`,
    );
    const activityHttp = { url: stack.activityUrl };
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const event = activityEvent(user);
    const res = await fetch(`${activityHttp.url}/api/v1/activities`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await signDevToken(secret, { sub: 'publisher', scopes: ['activity:write'] })}`,
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify(event),
    });
    expect(res.status).toBe(202);
    await eventually(
      async () => (stream.activities().includes(event.id) ? true : undefined),
      30_000,
    );
    const record = await eventually(
      async () => topic.records.find((r) => r.value.includes(event.id)),
      30_000,
    );
    await topic.stop();
    stream.ws.close();

    const spans = exporter.getFinishedSpans();
    // 1. The ingest request's SERVER span continues the caller's trace.
    const server = spans.find((s) => s.name === 'POST /api/v1/activities')!;
    expect(server.spanContext().traceId).toBe(traceId);
    expect(server.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    // 2. The Kafka record carries the request span as its traceparent.
    expect(record.headers.traceparent).toBe(`00-${traceId}-${server.spanContext().spanId}-01`);
    // 3. The projection's CONSUMER span links to it.
    const consume = spans.find(
      (s) =>
        s.name.endsWith('activity.events process') &&
        s.links.some((l) => l.context.traceId === traceId),
    )!;
    expect(consume).toBeDefined();
    // 4. The gateway's delivery continues the same trace, as a child of the request span.
    const deliver = spans.find(
      (s) => s.name === 'stream deliver' && s.spanContext().traceId === traceId,
    )!;
    expect(deliver.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(deliver.attributes['user.id']).toBe(user);
  });
});
