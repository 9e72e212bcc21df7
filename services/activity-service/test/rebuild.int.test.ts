import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, runEntryPoint, signedUsersRecord } from '@suite/testkit';
import { createActivityService, loadActivityConfig } from '@suite/activity-service';
import {
  ErrorBody,
  PROJECTION_LAYOUT_VERSION,
  ProjectionKeys,
  StatsField,
  parseLayout,
} from '@suite/contracts';
import { activityEvent, startActivityService, tokens, usersEvent } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
let redis: Redis;
const serviceDir = `${import.meta.dirname}/..`;

/**
 * Every projection key under the prefix with its DUMP bytes, except what names the generation: the
 * layout key (compared apart) and each stats hash's epoch field (its other fields by value).
 */
async function dump(prefix: string): Promise<Record<string, unknown>> {
  const keys = (await redis.keys(`${prefix}*`)).sort();
  const out: Record<string, unknown> = {};
  const layout = await redis.get(ProjectionKeys.layout(prefix));
  // On one Redis the steps check the layout key itself: no slot markers (the cluster writes SLOTS of them).
  expect(keys.filter((key) => key.endsWith('}:slot'))).toEqual([]);
  expect(layout).not.toBeNull();
  for (const key of keys) {
    if (key === ProjectionKeys.layout(prefix)) continue;
    if (key.endsWith(':stats')) {
      const { [StatsField.epoch]: _epoch, ...fields } = await redis.hgetall(key);
      out[key] = fields;
    } else out[key] = (await redis.dumpBuffer(key))!.toString('hex');
  }
  return out;
}

const generation = async (prefix: string) =>
  parseLayout((await redis.get(ProjectionKeys.layout(prefix)))!).generation;

beforeAll(async () => {
  ctx = await startActivityService('rebuild', { FEED_MAX_ITEMS: '20' });
  redis = new Redis(ctx.infra.redisUrl);
});
afterAll(async () => {
  redis.disconnect();
});

describe('projections:rebuild', () => {
  it('when consumers are running, then the rebuild refuses, and after they stop it rebuilds byte-identical projections', async () => {
    const kafka = new Kafka({
      clientId: 'rebuild-test',
      brokers: ctx.infra.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: ctx.usersTopic,
      acks: -1,
      messages: [
        usersEvent('user.access-changed', 401, {
          userId: 401,
          version: 3,
          workspaces: [{ workspaceId: 9, name: 'Nine', role: 'member' }],
        }),
        usersEvent('user.access-changed', 402, {
          userId: 402,
          version: 1,
          workspaces: [{ workspaceId: 9, name: 'Nine', role: 'viewer' }],
        }),
      ].map((e) => signedUsersRecord(e)),
    });
    const events = Array.from({ length: 300 }, (_, i) =>
      activityEvent(401 + (i % 3), { workspaceId: 9 + (i % 2) }),
    );
    await ctx.publisher.publish(events);
    await ctx.publisher.publish(events.slice(0, 20)); // duplicates
    await producer.send({
      topic: ctx.activityTopic,
      acks: -1,
      messages: [{ key: '401', value: 'not json' }],
    });
    await producer.send({
      topic: ctx.usersTopic,
      acks: -1,
      messages: [signedUsersRecord(usersEvent('user.deleted', 403, { userId: 403 }))],
    });
    await producer.disconnect();
    const total = 2 + 320 + 1 + 1;
    await eventually(async () => {
      const offsets = await redis.mget(
        [ctx.activityTopic, ctx.usersTopic].flatMap((topic) =>
          [0, 1, 2].map((p) => ProjectionKeys.offset(ctx.names.keyPrefix, topic, p)),
        ),
      );
      const caughtUp = offsets.reduce((n, v) => n + Number(v ?? 0), 0) === total;
      // The service built these projections from the log when it started: whole once that is done.
      return caughtUp && (await redis.exists(ProjectionKeys.rebuild(ctx.names.keyPrefix))) === 0
        ? true
        : undefined;
    }, 30_000);
    const before = await dump(ctx.names.keyPrefix);
    const firstGeneration = await generation(ctx.names.keyPrefix);
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
    // A new generation: stream cursors issued before the rebuild get a reset.
    expect(await generation(ctx.names.keyPrefix)).not.toBe(firstGeneration);
    expect(await redis.exists(ProjectionKeys.rebuild(ctx.names.keyPrefix))).toBe(0);
  }, 240_000);

  it('when the projections are in another layout, then the consumer stays out, reads answer 503 and readiness names the rebuild; after it, the service runs', async () => {
    const env = { ...ctx.config, LOG_LEVEL: 'warn' };
    // Projections a layout-2 deployment left behind.
    await redis.set(ProjectionKeys.layout(ctx.names.keyPrefix), '2');
    const ready = async () => {
      const service = await createActivityService(
        loadActivityConfig({ ...ctx.config, LOG_LEVEL: 'silent' }),
      );
      await service.start();
      const server = await service.listen(0, '127.0.0.1');
      try {
        return await eventually(async () => {
          const res = await call('GET', `${server.url}/readyz`);
          const body = res.body as { checks: { projections: { ok: boolean; error?: string } } };
          const read = await call('GET', `${server.url}/api/v1/users/401/activity-count`, {
            token: await tokens.admin(),
          });
          return res.status === 200 || body.checks.projections.error?.includes('layout')
            ? { status: res.status, projections: body.checks.projections, read }
            : undefined;
        }, 30_000);
      } finally {
        await service.stop();
      }
    };
    const stale = await ready();
    expect(stale.status).toBe(503);
    expect(stale.projections.error).toContain('npm run projections:rebuild');
    expect(stale.read.status).toBe(503);
    expect(ErrorBody.parse(stale.read.body).error.code).toBe('unavailable');

    const rebuilt = await runEntryPoint(serviceDir, 'src/cli/rebuild.cli.ts', env, 120_000);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(
      parseLayout((await redis.get(ProjectionKeys.layout(ctx.names.keyPrefix)))!).version,
    ).toBe(PROJECTION_LAYOUT_VERSION);
    const after = await ready();
    expect(after.status).toBe(200);
    expect(after.read.body).toEqual({ userId: 401, count: 100 });
  }, 240_000);
});
