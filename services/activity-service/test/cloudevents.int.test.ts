import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudEvent, HTTP, Kafka as CeKafka } from 'cloudevents';
import type { Producer } from 'kafkajs';
import { DlqHeaders } from '@suite/contracts';
import { call, collectTopic, eventually } from '@suite/testkit';
import { activityEvent, startActivityService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
let producer: Producer;
beforeAll(async () => {
  ctx = await startActivityService('cloudevents');
  producer = await ctx.producer('ce-sdk');
}, 90_000);
afterAll(() => ctx.stop());

/** An event built by the official CloudEvents SDK, with the Kafka binding's `partitionkey` extension. */
function sdkEvent(userId: number, extra: Record<string, unknown> = {}) {
  const { data, ...attributes } = activityEvent(userId);
  return new CloudEvent({
    ...attributes,
    datacontenttype: 'application/json',
    partitionkey: String(userId),
    data,
    ...extra,
  });
}

async function countOf(userId: number): Promise<number> {
  const res = await call('GET', `${ctx.api}/users/${userId}/activity-count`, {
    token: await tokens.admin(),
  });
  return (res.body as { count: number }).count;
}

/** Sends a message the SDK serialised: its value as JSON text, its headers as strings. */
async function send(message: { key?: unknown; value: unknown; headers: Record<string, unknown> }) {
  const value = typeof message.value === 'string' ? message.value : JSON.stringify(message.value);
  const headers = Object.fromEntries(
    Object.entries(message.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])),
  );
  await producer.send({
    topic: ctx.activityTopic,
    messages: [{ key: typeof message.key === 'string' ? message.key : undefined, value, headers }],
  });
}

describe('CloudEvents bindings', () => {
  it('when the official SDK writes events to Kafka in structured and binary content mode, then they are projected, partitionkey included', async () => {
    await send(CeKafka.structured(sdkEvent(7101)));
    await send(CeKafka.binary(sdkEvent(7101)));
    await send(CeKafka.binary(sdkEvent(7101, { tracestate: 'vendor=1', sequencetype: 'Integer' })));
    await eventually(async () => ((await countOf(7101)) === 3 ? true : undefined), 30_000);
    const page = await call('GET', `${ctx.api}/users/7101/activities`, {
      token: await tokens.admin(),
    });
    // Extensions are read and dropped: the stored activity is the contract's, nothing more.
    for (const activity of (page.body as { results: Record<string, unknown>[] }).results) {
      expect(Object.keys(activity).sort()).toEqual([
        'actorId',
        'id',
        'object',
        'source',
        'time',
        'userId',
        'verb',
        'workspaceId',
      ]);
    }
  });

  it("when a binary-mode record's data or attributes break the contract, then it is dead-lettered with the reason", async () => {
    const dlq = await collectTopic(ctx.infra.kafkaBrokers, `${ctx.activityTopic}.dlq`);
    try {
      const bad = CeKafka.binary(sdkEvent(7102));
      await send({ ...bad, value: { ...(bad.value as object), verb: 'not a token!' } });
      await send({
        ...CeKafka.binary(sdkEvent(7102)),
        headers: { ...CeKafka.binary(sdkEvent(7102)).headers, ce_subject: 'nobody' },
      });
      await eventually(async () => (dlq.records.length >= 2 ? true : undefined), 30_000);
      expect(dlq.records.map((r) => r.headers[DlqHeaders.reason])).toEqual([
        'schema_invalid',
        'schema_invalid',
      ]);
      expect(await countOf(7102)).toBe(0);
    } finally {
      await dlq.stop();
    }
  });

  it('when POST /activities comes in HTTP binary, structured or batch mode as the SDK writes them, then it is accepted', async () => {
    const token = await tokens.writer();
    const post = (headers: Record<string, unknown>, body: unknown) =>
      fetch(`${ctx.api}/activities`, {
        method: 'POST',
        headers: {
          ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])),
          authorization: `Bearer ${token}`,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const binary = HTTP.binary(sdkEvent(7103));
    expect((await post(binary.headers, binary.body)).status).toBe(202);
    const structured = HTTP.structured(sdkEvent(7103));
    expect((await post(structured.headers, structured.body)).status).toBe(202);
    const batch = [sdkEvent(7103), sdkEvent(7103)].map((e) => JSON.parse(e.toString()) as unknown);
    const accepted = await post({ 'content-type': 'application/cloudevents-batch+json' }, batch);
    expect(accepted.status).toBe(202);
    expect(((await accepted.json()) as { accepted: number }).accepted).toBe(2);
    await eventually(async () => ((await countOf(7103)) === 4 ? true : undefined), 30_000);

    // Each mode's own rules: a batch is an array, structured mode is one event, binary data stays strict.
    expect(
      (await post({ 'content-type': 'application/cloudevents-batch+json' }, batch[0])).status,
    ).toBe(400);
    expect((await post({ 'content-type': 'application/cloudevents+json' }, batch)).status).toBe(
      400,
    );
    const strict = await post(binary.headers, { ...JSON.parse(String(binary.body)), extra: 1 });
    expect(strict.status).toBe(400);
    expect(JSON.stringify(await strict.json())).toContain('data');
    expect((await post({ ...binary.headers, 'ce-subject': '%E0' }, binary.body)).status).toBe(400);
    expect((await post({ 'content-type': 'text/plain' }, 'hello')).status).toBe(415);
  });

  it('when metadata is nested 20,000 arrays deep, then the answer is 400 on HTTP and a dead letter on Kafka', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const event = activityEvent(7104);
    const body = JSON.stringify(event).replace(
      '"workspaceId":7',
      `"workspaceId":7,"metadata":{"deep":${deep}}`,
    );
    const res = await fetch(`${ctx.api}/activities`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await tokens.writer()}`,
      },
      body,
    });
    expect(res.status).toBe(400);
    const nested = JSON.stringify(activityEvent(7104)).replace(
      '"workspaceId":7',
      `"workspaceId":7,"metadata":{"deep":${'['.repeat(2000)}${']'.repeat(2000)}}`,
    );
    const dlq = await collectTopic(ctx.infra.kafkaBrokers, `${ctx.activityTopic}.dlq`);
    try {
      await producer.send({ topic: ctx.activityTopic, messages: [{ key: '7104', value: nested }] });
      await eventually(
        async () =>
          dlq.records.some((r) => r.headers[DlqHeaders.reason] === 'schema_invalid')
            ? true
            : undefined,
        30_000,
      );
    } finally {
      await dlq.stop();
    }
  });
});
