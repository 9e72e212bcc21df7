import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlqHeaders } from '@suite/contracts';
import { call, collectTopic, eventually } from '@suite/testkit';
import { activityEvent, startActivityService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
beforeAll(async () => {
  ctx = await startActivityService('dlq');
});
afterAll(() => ctx.stop());

describe('dead letters', () => {
  it('poison records mid-stream land in the DLQ with their reason; applied + dead-lettered = produced', async () => {
    const kafka = new Kafka({ clientId: 'dlq-test', brokers: ctx.infra.kafkaBrokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const user = 201;
    const good = () => ({ key: String(user), value: JSON.stringify(activityEvent(user)) });
    const poison = [
      { key: String(user), value: '{"specversion": "1.0", "id": ' },
      { key: String(user), value: JSON.stringify({ ...activityEvent(user), data: { verb: 'liked' } }) },
      { key: String(user), value: JSON.stringify({ ...activityEvent(user), data: { ...activityEvent(user).data, metadata: { blob: 'x'.repeat(20_000) } } }) },
      { key: String(user), value: JSON.stringify({ ...activityEvent(user), Extra: true }) }, // not a CloudEvents attribute name
    ];
    const messages = [good(), poison[0]!, good(), poison[1]!, poison[2]!, good(), poison[3]!, good()];
    await producer.send({ topic: ctx.activityTopic, acks: -1, messages });
    await producer.disconnect();

    const dlq = await collectTopic(ctx.infra.kafkaBrokers, `${ctx.activityTopic}.dlq`);
    try {
      await eventually(async () => (dlq.records.length >= 4 ? true : undefined), 30_000);
      const count = async () => ((await call('GET', `${ctx.api}/users/${user}/activity-count`, { token: await tokens.user(user) })).body as { count: number }).count;
      await eventually(async () => ((await count()) === 4 ? true : undefined), 20_000);
      expect(dlq.records.map((r) => r.headers[DlqHeaders.reason])).toEqual(['malformed_json', 'schema_invalid', 'oversized', 'schema_invalid']);
      for (const r of dlq.records) {
        expect(r.headers[DlqHeaders.sourceTopic]).toBe(ctx.activityTopic);
        expect(Number(r.headers[DlqHeaders.sourceOffset])).toBeGreaterThanOrEqual(0);
        expect(r.headers[DlqHeaders.sourcePartition]).toMatch(/^\d+$/);
      }
      expect((await count()) + dlq.records.length).toBe(messages.length);
      // The partition keeps moving: a later event still lands, and no restart loop happened.
      await ctx.publisher.publish(activityEvent(user));
      await eventually(async () => ((await count()) === 5 ? true : undefined), 20_000);
      const metrics = (await call('GET', `${ctx.server.url}/metrics`)).body as string;
      expect(metrics).toMatch(/activity_events_dead_lettered_total\{reason="schema_invalid"[^}]*\} 2/);
      expect(metrics).toMatch(/activity_events_dead_lettered_total\{reason="malformed_json"[^}]*\} 1/);
    } finally {
      await dlq.stop();
    }
  });
});
