import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '@suite/contracts';
import { signDevToken } from '@suite/auth';
import { eventually, startDisposable, testInfra, type DisposableServer } from '@suite/testkit';
import {
  createActivityService,
  loadActivityConfig,
  type ActivityService,
} from '@suite/activity-service';
import { secret } from './helpers.js';
import { appliedRecords, expectMatchesOracle, oracleScenario, pacedProducer } from './oracle.js';

const infra = testInfra();
const FEED_CAP = 50;
let server: DisposableServer;
let redis: Redis;
beforeAll(async () => {
  server = await startDisposable('redis');
  redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
}, 60_000);
afterAll(async () => {
  redis.disconnect();
  await server.destroy();
});

/** The activity-service on the private Redis, its topics, a paced producer of 20k records, and probes. */
async function setup(label: string) {
  const { names, topic, events, records, config } = await oracleScenario(
    label,
    label.length * 104_729,
    server.url,
    {
      FEED_MAX_ITEMS: String(FEED_CAP),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      SHUTDOWN_GRACE_MS: '1000',
    },
  );
  const service: ActivityService = await createActivityService(loadActivityConfig(config));
  await service.start();
  const http = await service.listen(0, '127.0.0.1');
  const producer = await pacedProducer(
    new Kafka({ clientId: label, brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING }),
    topic,
    records,
  );
  const applied = () => appliedRecords(redis, names.keyPrefix, topic, 3).catch(() => -1);
  /** Readiness and a read, sampled until stopped: what a client saw while Redis was away. */
  const sample = () => {
    const seen: { ready: number; read: number; code?: string }[] = [];
    let on = true;
    const admin = signDevToken(secret, { sub: '900000', roles: ['admin'] });
    const done = (async () => {
      while (on) {
        const ready = await fetch(`${http.url}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        const read = await fetch(`${http.url}/api/v1/users/1/activity-count`, {
          headers: { authorization: `Bearer ${await admin}` },
        });
        const body = (await read.json()) as unknown;
        seen.push({
          ready,
          read: read.status,
          ...(read.status === 503 ? { code: ErrorBody.parse(body).error.code } : {}),
        });
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    return { seen, stop: async () => ((on = false), await done) };
  };
  /** A metric's value; `label` picks one series (the service label is on every series). */
  const metric = async (name: string, label = '') =>
    Number(
      new RegExp(`^${name}\\{[^}]*${label}[^}]*\\} (\\d+)`, 'm').exec(
        await (await fetch(`${http.url}/metrics`)).text(),
      )?.[1] ?? 0,
    );
  return {
    names,
    events,
    records,
    service,
    http,
    producer,
    applied,
    sample,
    metric,
    whole: () =>
      eventually(
        async () =>
          (await applied()) === records.length && (await fetch(`${http.url}/readyz`)).ok
            ? true
            : undefined,
        120_000,
        100,
      ),
    stop: async () => {
      await producer.close();
      await service.stop();
    },
  };
}

describe('when Redis loses data, the projections heal', () => {
  it('when Redis is killed mid-stream and restarts empty, then the service turns unready, answers 503, rebuilds from the log, turns ready, and equals the oracle', async () => {
    const ctx = await setup('lost');
    try {
      const producing = ctx.producer.produce(0, 10_000);
      await eventually(async () => ((await ctx.applied()) > 3000 ? true : undefined), 60_000, 10);
      const probe = ctx.sample();
      await server.crash();
      rmSync(join(server.dir, 'dump.rdb'), { force: true });
      await server.start();
      await producing;
      await ctx.producer.produce(10_000, 20_000);
      await ctx.whole();
      await probe.stop();
      await expectMatchesOracle(redis, ctx.names.keyPrefix, ctx.events, FEED_CAP);
      // Between the loss and the rebuild: unready, and reads refused in the error shape rather than answered from an empty Redis.
      expect(probe.seen.some((s) => s.ready === 503)).toBe(true);
      expect(probe.seen.some((s) => s.read === 503 && s.code === 'unavailable')).toBe(true);
      expect(probe.seen.at(-1)).toEqual({ ready: 200, read: 200 });
      expect(await ctx.metric('activity_projection_heals_total', 'kind="rebuild"')).toBe(1);
      expect(await ctx.metric('activity_projection_ready')).toBe(1);
    } finally {
      await ctx.stop();
    }
  }, 240_000);

  it('when Redis is restored from an older snapshot mid-stream, then the consumer seeks back, re-applies, and every count, feed and stream position equals the oracle', async () => {
    const ctx = await setup('older');
    try {
      await ctx.producer.produce(0, 8000);
      await eventually(async () => ((await ctx.applied()) === 8000 ? true : undefined), 60_000, 20);
      // A key no service touches tells which state the restarted server holds (the service may re-apply
      // records before this test reads the offsets again, so they cannot tell).
      const marker = `${ctx.names.keyPrefix}test-snapshot-marker`;
      await redis.set(marker, 'in the snapshot');
      await redis.save();
      await redis.set(marker, 'after the snapshot');
      const producing = ctx.producer.produce(8000, 16_000);
      await eventually(async () => ((await ctx.applied()) > 11_000 ? true : undefined), 60_000, 10);
      await server.crash();
      await server.start();
      expect(await redis.get(marker)).toBe('in the snapshot');
      await producing;
      await ctx.producer.produce(16_000, 20_000);
      await ctx.whole();
      await expectMatchesOracle(redis, ctx.names.keyPrefix, ctx.events, FEED_CAP);
      expect(await ctx.metric('activity_projection_heals_total', 'kind="rewind"')).toBeGreaterThan(
        0,
      );
      expect(await ctx.metric('activity_projection_heals_total', 'kind="rebuild"')).toBe(0);
    } finally {
      await ctx.stop();
    }
  }, 240_000);
});
