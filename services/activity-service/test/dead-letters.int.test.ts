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
  it('when poison records come mid-stream, then they land in the DLQ with their reason and applied + dead-lettered = produced', async () => {
    const kafka = new Kafka({
      clientId: 'dlq-test',
      brokers: ctx.infra.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer();
    await producer.connect();
    const user = 201;
    const good = () => ({ key: String(user), value: JSON.stringify(activityEvent(user)) });
    const poison = [
      { key: String(user), value: '{"specversion": "1.0", "id": ' },
      {
        key: String(user),
        value: JSON.stringify({ ...activityEvent(user), data: { verb: 'liked' } }),
      },
      {
        key: String(user),
        value: JSON.stringify({
          ...activityEvent(user),
          data: { ...activityEvent(user).data, metadata: { blob: 'x'.repeat(20_000) } },
        }),
      },
      { key: String(user), value: JSON.stringify({ ...activityEvent(user), Extra: true }) }, // not a CloudEvents attribute name
    ];
    const messages = [
      good(),
      poison[0]!,
      good(),
      poison[1]!,
      poison[2]!,
      good(),
      poison[3]!,
      good(),
    ];
    await producer.send({ topic: ctx.activityTopic, acks: -1, messages });
    await producer.disconnect();

    const dlq = await collectTopic(ctx.infra.kafkaBrokers, `${ctx.activityTopic}.dlq`);
    try {
      // Dead letters are at least once (a re-applied chunk sends its own again): one per source record.
      const deadLetters = () => [
        ...new Map(
          dlq.records.map((r) => [
            `${r.headers[DlqHeaders.sourcePartition]}:${r.headers[DlqHeaders.sourceOffset]}`,
            r,
          ]),
        ).values(),
      ];
      await eventually(async () => (deadLetters().length >= 4 ? true : undefined), 30_000);
      const count = async () =>
        (
          (
            await call('GET', `${ctx.api}/users/${user}/activity-count`, {
              token: await tokens.user(user),
            })
          ).body as { count: number }
        ).count;
      await eventually(async () => ((await count()) === 4 ? true : undefined), 20_000);
      expect(deadLetters().map((r) => r.headers[DlqHeaders.reason])).toEqual([
        'malformed_json',
        'schema_invalid',
        'oversized',
        'schema_invalid',
      ]);
      for (const r of deadLetters()) {
        expect(r.headers[DlqHeaders.sourceTopic]).toBe(ctx.activityTopic);
        expect(Number(r.headers[DlqHeaders.sourceOffset])).toBeGreaterThanOrEqual(0);
        expect(r.headers[DlqHeaders.sourcePartition]).toMatch(/^\d+$/);
      }
      expect((await count()) + deadLetters().length).toBe(messages.length);
      // The partition keeps moving: a later event still lands, and no restart loop happened.
      await ctx.publisher.publish(activityEvent(user));
      await eventually(async () => ((await count()) === 5 ? true : undefined), 20_000);
      const metrics = (await call('GET', `${ctx.server.url}/metrics`)).body as string;
      // Counted per send: at least once per poison record (a re-applied chunk sends its dead letters again).
      const sent = (reason: string) =>
        Number(
          new RegExp(
            `activity_events_dead_lettered_total\\{reason="${reason}"[^}]*\\} (\\d+)`,
          ).exec(metrics)?.[1] ?? 0,
        );
      expect(sent('schema_invalid')).toBeGreaterThanOrEqual(2);
      expect(sent('malformed_json')).toBeGreaterThanOrEqual(1);
      expect(sent('schema_invalid') / 2).toBe(sent('malformed_json'));
    } finally {
      await dlq.stop();
    }
  });
});
