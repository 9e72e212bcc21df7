import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlqHeaders } from '@suite/contracts';
import {
  call,
  collectTopic,
  eventually,
  isolate,
  runEntryPoint,
  startInProcess,
} from '@suite/testkit';
import { createActivityService, loadActivityConfig } from '@suite/activity-service';
import { activityEvent, createTimeTopics, startActivityService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
beforeAll(async () => {
  ctx = await startActivityService('hostile-clocks');
});
afterAll(() => ctx.stop());

const serviceDir = `${import.meta.dirname}/..`;
const YEAR_2999 = Date.parse('2999-06-01T00:00:00Z');
const count = async (user: number) =>
  (
    (await call('GET', `${ctx.api}/users/${user}/activity-count`, { token: await tokens.admin() }))
      .body as { count: number }
  ).count;

describe('a publisher whose clock says 2999', () => {
  it('when 1,000 records carry record timestamps and times in 2999, then all are dead-lettered out_of_window, a duplicate publish still counts once, and a rebuild agrees', async () => {
    const user = 777001;
    const dlq = await collectTopic(ctx.infra.kafkaBrokers, `${ctx.activityTopic}.dlq`);
    try {
      const producer = await ctx.producer('clock-2999');
      const future = Array.from({ length: 1000 }, (_, i) =>
        activityEvent(user, { time: new Date(YEAR_2999 + i).toISOString() }),
      );
      // The producer sets the record timestamp too: on broker time (LogAppendTime) the broker overwrites it.
      await producer.send({
        topic: ctx.activityTopic,
        acks: -1,
        messages: future.map((e) => ({
          key: String(user),
          value: JSON.stringify(e),
          timestamp: String(YEAR_2999),
        })),
      });
      await eventually(async () => (dlq.records.length >= 1000 ? true : undefined), 60_000);
      expect(new Set(dlq.records.map((r) => r.headers[DlqHeaders.reason]))).toEqual(
        new Set(['out_of_window']),
      );

      const real = activityEvent(user);
      await ctx.publisher.publish([real]);
      await ctx.publisher.publish([real]);
      await ctx.settled();
      expect(await count(user)).toBe(1);
      const feed = (
        await call('GET', `${ctx.api}/users/${user}/activities`, { token: await tokens.admin() })
      ).body as { results: { id: string }[] };
      expect(feed.results.map((a) => a.id)).toEqual([real.id]);

      await ctx.stop();
      const rebuilt = await runEntryPoint(
        serviceDir,
        'src/cli/rebuild.cli.ts',
        { ...ctx.config, LOG_LEVEL: 'warn' },
        120_000,
      );
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
      ctx = await startActivityService('hostile-clocks', {}, ctx.infra, ctx.names);
      expect(await count(user)).toBe(1);
    } finally {
      await dlq.stop();
    }
  }, 240_000);
});

describe('topics on the producer’s clock', () => {
  async function readiness(env: Record<string, string>) {
    const names = isolate('create-time');
    await createTimeTopics(ctx.infra.kafkaBrokers, names.topicPrefix);
    const started = await startInProcess('create-time', loadActivityConfig, createActivityService, {
      env,
      names,
      infra: ctx.infra,
      createTopics: false,
    });
    try {
      return await eventually(async () => {
        const res = await call('GET', `${started.server.url}/readyz`);
        const consumer = (res.body as { checks: { consumer?: { ok: boolean; error?: string } } })
          .checks.consumer;
        if (res.status === 200)
          return {
            ready: true,
            health: (await call('GET', `${started.server.url}/healthz`)).status,
          };
        return consumer?.error?.includes('CreateTime')
          ? {
              ready: false,
              error: consumer.error,
              health: (await call('GET', `${started.server.url}/healthz`)).status,
            }
          : undefined;
      }, 60_000);
    } finally {
      await started.stop();
    }
  }

  it('when a consumed topic uses CreateTime, then the consumer refuses to run, naming the topics and KAFKA_ALLOW_CREATE_TIME, and liveness fails', async () => {
    const result = await readiness({});
    expect(result.ready).toBe(false);
    expect(result.error).toContain('KAFKA_ALLOW_CREATE_TIME');
    expect(result.error).toContain('activity.events');
    expect(result.health).toBe(503);
  }, 120_000);

  it('when the operator sets KAFKA_ALLOW_CREATE_TIME=true, then it runs on them', async () => {
    const result = await readiness({ KAFKA_ALLOW_CREATE_TIME: 'true' });
    expect(result).toEqual({ ready: true, health: 200 });
  }, 120_000);
});
