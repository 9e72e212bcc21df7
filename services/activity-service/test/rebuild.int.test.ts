import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, runEntryPoint } from '@suite/testkit';
import { createActivityService, loadActivityConfig } from '@suite/activity-service';
import { PROJECTION_LAYOUT } from '../src/data-access/projection.store.js';
import { activityEvent, startActivityService, usersEvent } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
let redis: Redis;
const serviceDir = `${import.meta.dirname}/..`;

/**
 * Every projection key under the prefix with its DUMP bytes. The offsets hash is compared by
 * value: partitions replay concurrently, so its fields may be inserted in another order.
 */
async function dump(prefix: string): Promise<Record<string, unknown>> {
  const keys = (await redis.keys(`${prefix}*`)).sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    out[key] = key === `${prefix}offsets` ? await redis.hgetall(key) : (await redis.dumpBuffer(key))!.toString('hex');
  }
  return out;
}

beforeAll(async () => {
  ctx = await startActivityService('rebuild', { FEED_MAX_ITEMS: '20' });
  redis = new Redis(ctx.infra.redisUrl);
});
afterAll(async () => {
  redis.disconnect();
});

describe('projections:rebuild', () => {
  it('refuses while consumers are running, then rebuilds byte-identical projections after they stop', async () => {
    const kafka = new Kafka({ clientId: 'rebuild-test', brokers: ctx.infra.kafkaBrokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: ctx.usersTopic,
      acks: -1,
      messages: [
        usersEvent('user.access-changed', 401, { userId: 401, version: 3, workspaces: [{ workspaceId: 9, name: 'Nine', role: 'member' }] }),
        usersEvent('user.access-changed', 402, { userId: 402, version: 1, workspaces: [{ workspaceId: 9, name: 'Nine', role: 'viewer' }] }),
      ].map((e) => ({ key: e.subject, value: JSON.stringify(e) })),
    });
    const events = Array.from({ length: 300 }, (_, i) => activityEvent(401 + (i % 3), { workspaceId: 9 + (i % 2) }));
    await ctx.publisher.publish(events);
    await ctx.publisher.publish(events.slice(0, 20)); // duplicates
    await producer.send({ topic: ctx.activityTopic, acks: -1, messages: [{ key: '401', value: 'not json' }] });
    await producer.send({ topic: ctx.usersTopic, acks: -1, messages: [{ key: '403', value: JSON.stringify(usersEvent('user.deleted', 403, { userId: 403 })) }] });
    await producer.disconnect();
    const total = 2 + 320 + 1 + 1;
    await eventually(async () => {
      const offsets = await redis.hgetall(`${ctx.names.keyPrefix}offsets`);
      return Object.values(offsets).reduce((n, v) => n + Number(v), 0) === total ? true : undefined;
    }, 30_000);
    const before = await dump(ctx.names.keyPrefix);
    expect(Object.keys(before).length).toBeGreaterThan(10);

    const env = { ...ctx.config, LOG_LEVEL: 'warn' };
    const refused = await runEntryPoint(serviceDir, 'src/cli/rebuild.cli.ts', env, 60_000);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('refusing to rebuild');
    expect(await dump(ctx.names.keyPrefix)).toEqual(before);

    await ctx.stop();
    const rebuilt = await runEntryPoint(serviceDir, 'src/cli/rebuild.cli.ts', env, 120_000);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toMatch(/records\/s/);
    expect(rebuilt.stderr).toMatch(/ETA/);
    expect(await dump(ctx.names.keyPrefix)).toEqual(before);
  }, 240_000);

  it('when the projections are in an older layout, the consumer stays out and readiness names the rebuild; after it, the service runs', async () => {
    const env = { ...ctx.config, LOG_LEVEL: 'warn' };
    // Projections from before layouts were recorded: offsets, no layout key.
    await redis.del(`${ctx.names.keyPrefix}layout`);
    expect(await redis.exists(`${ctx.names.keyPrefix}offsets`)).toBe(1);
    const ready = async () => {
      const service = await createActivityService(loadActivityConfig({ ...ctx.config, LOG_LEVEL: 'silent' }));
      await service.start();
      const server = await service.listen(0, '127.0.0.1');
      try {
        return await eventually(async () => {
          const res = await call('GET', `${server.url}/readyz`);
          const body = res.body as { checks: { consumer: { ok: boolean; error?: string } } };
          return res.status === 200 || body.checks.consumer.error?.includes('layout') ? { status: res.status, consumer: body.checks.consumer } : undefined;
        }, 30_000);
      } finally {
        await service.stop();
      }
    };
    const stale = await ready();
    expect(stale.status).toBe(503);
    expect(stale.consumer.error).toContain('npm run projections:rebuild');

    const rebuilt = await runEntryPoint(serviceDir, 'src/cli/rebuild.cli.ts', env, 120_000);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(await redis.get(`${ctx.names.keyPrefix}layout`)).toBe(PROJECTION_LAYOUT);
    expect((await ready()).status).toBe(200);
  }, 240_000);
});
