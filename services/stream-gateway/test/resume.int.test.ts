import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { Activity, ProjectionKeys, StreamMessage, logEntryJson } from '@suite/contracts';
import { freePort } from '@suite/local-infra';
import { ActivityPublisher } from '@suite/publisher';
import {
  createTestTopics,
  eventually,
  isolate,
  startChildService,
  startDisposable,
  testInfra,
  type ChildService,
  TEST_ORIGIN_KEY,
} from '@suite/testkit';
import { createActivityService, loadActivityConfig } from '@suite/activity-service';
import {
  createGatewayService,
  loadGatewayConfig,
  type GatewayService,
} from '@suite/stream-gateway';
import type { RunningServer } from '@suite/server-kit';
import { secret, token } from './helpers.js';

const infra = testInfra();
const activityDir = `${import.meta.dirname}/../../activity-service`;
const children: ChildService[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) await c.kill('SIGKILL');
  for (const cleanup of cleanups) await cleanup();
});

/** A seeded generator, so a failing run can be replayed from the seed it prints. */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: T[]) => items[Math.floor(next() * items.length)]!,
  };
}

/**
 * A client that keeps hopping: it opens a stream on one of the gateways, reads a random number of
 * messages, drops the connection (a clean close or a cut), waits, and resumes on a random gateway
 * from the last cursor it saw. Everything it received, over all its connections, in order.
 */
function hopper(userId: number, urls: string[], rand: ReturnType<typeof prng>) {
  const received: { id: string; cursor: string }[] = [];
  let resets = 0;
  let cursor: string | undefined;
  let stopped = false;
  let hops = 0;
  let current: WebSocket | undefined;
  let started!: () => void;
  const live = new Promise<void>((resolve) => (started = resolve));
  const done = (async () => {
    while (!stopped) {
      const url = `${rand.pick(urls)}/api/v1/users/${userId}/activity-stream${cursor ? `?cursor=${cursor}` : ''}`;
      const ws = new WebSocket(url, {
        headers: { authorization: `Bearer ${await token(String(userId))}` },
      });
      current = ws;
      const budget = rand.int(0, 12);
      let seen = 0;
      await new Promise<void>((resolve) => {
        ws.on('message', (data) => {
          const message = StreamMessage.parse(JSON.parse(data.toString()));
          if (message.type === 'activity') {
            received.push({ id: message.activity.id, cursor: message.cursor });
            cursor = message.cursor;
          } else if (message.type === 'reset') resets++;
          else if (message.type === 'ready') {
            if (message.cursor) cursor = message.cursor;
            started();
          }
          seen++;
          if (seen >= budget && !stopped) {
            if (rand.next() < 0.5) ws.close();
            else ws.terminate();
          }
        });
        ws.on('close', () => resolve());
        ws.on('error', () => resolve());
      });
      hops++;
      await new Promise((r) => setTimeout(r, rand.int(0, 40)));
    }
  })();
  return {
    received,
    /** Resolves once its first stream is live: positions after that are all the client's to receive. */
    live,
    resets: () => resets,
    hops: () => hops,
    stop: async () => {
      stopped = true;
      current?.close();
      await done;
    },
  };
}

describe('resume by position across gateways and a consumer crash', () => {
  it("when clients reconnect across two gateways through a consumer crash, then each received the user's applied sequence: no gap, no repeat, whatever the event times (property)", async () => {
    const seed = Number(process.env.RESUME_SEED ?? Date.now() % 1_000_000);
    const rand = prng(seed);
    const names = isolate('resume');
    await createTestTopics(infra, names.topicPrefix, { 'activity.events': 3, 'users.events': 1 });
    const common = {
      REDIS_URL: infra.redisUrl,
      REDIS_KEY_PREFIX: names.keyPrefix,
      JWT_SECRET: secret,
      USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
      LOG_LEVEL: 'warn',
    };
    const activityEnv = {
      ...common,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      KAFKA_TOPIC_PREFIX: names.topicPrefix,
      KAFKA_GROUP_ID: `${names.id}-p`,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      FEED_MAX_ITEMS: '2000',
    };
    const startActivity = async () => {
      const child = await startChildService(
        activityDir,
        'src/main.ts',
        activityEnv,
        await freePort(),
      );
      children.push(child);
      return child;
    };
    let activity = await startActivity();
    const gateways: { service: GatewayService; server: RunningServer }[] = [];
    for (let i = 0; i < 2; i++) {
      const service = await createGatewayService(
        loadGatewayConfig({ ...common, LOG_LEVEL: 'silent' }),
      );
      await service.start();
      gateways.push({ service, server: await service.listen(0, '127.0.0.1') });
    }
    const urls = gateways.map((g) => g.server.url.replace('http', 'ws'));
    const publisher = new ActivityPublisher({
      brokers: infra.kafkaBrokers,
      topicPrefix: names.topicPrefix,
    });
    const redis = new Redis(infra.redisUrl);
    cleanups.push(async () => {
      await publisher.close();
      for (const g of gateways) await g.service.stop();
      redis.disconnect();
    });

    const users = [501, 502, 503];
    // One client per user connected the whole time: the live order as one connection saw it.
    const steady = await Promise.all(
      users.map(async (u) => {
        const received: string[] = [];
        const ws = new WebSocket(`${urls[1]!}/api/v1/users/${u}/activity-stream`, {
          headers: { authorization: `Bearer ${await token(String(u))}` },
        });
        await new Promise<void>((resolve) =>
          ws.on('message', (data) => {
            const message = StreamMessage.parse(JSON.parse(data.toString()));
            if (message.type === 'activity') received.push(message.activity.id);
            if (message.type === 'ready') resolve();
          }),
        );
        return { ws, received };
      }),
    );
    const hoppers = users.map((u) => hopper(u, urls, rand));
    await Promise.all(hoppers.map((h) => h.live));

    // Events stamped in the past (up to 5 days), in equal-millisecond bursts, and in the future;
    // some ids published twice. Sent in random batches; the consumer is SIGKILLed halfway.
    const now = Date.now();
    const distinct = new Map<number, Set<string>>(users.map((u) => [u, new Set()]));
    const sent: Record<string, unknown>[] = [];
    let n = 0;
    const rounds = 60;
    for (let round = 0; round < rounds; round++) {
      const batch: Record<string, unknown>[] = [];
      const burstTime = now + rand.int(-5 * 86_400_000, 60_000);
      for (let i = rand.int(1, 12); i > 0; i--) {
        const user = rand.pick(users);
        const duplicate = sent.length > 0 && rand.next() < 0.08;
        const event = duplicate
          ? rand.pick(sent)
          : {
              specversion: '1.0',
              id: `r${seed}-${n++}`,
              source: '/resume-test',
              type: 'io.activitysuite.activity.recorded',
              subject: String(user),
              time: new Date(
                rand.next() < 0.4 ? burstTime : now + rand.int(-5 * 86_400_000, 60_000),
              ).toISOString(),
              data: {
                actorId: user,
                verb: 'edited',
                object: { type: 'doc', id: String(n) },
                workspaceId: 1 + rand.int(0, 3),
              },
            };
        if (!duplicate) sent.push(event);
        distinct.get(Number(event.subject))!.add(event.id as string);
        batch.push(event);
      }
      await publisher.publish(batch);
      if (round === rounds / 2) {
        expect(await activity.kill('SIGKILL')).toBeNull();
        activity = await startActivity();
      }
      await new Promise((r) => setTimeout(r, rand.int(0, 60)));
    }

    // The applied sequence of each user: the stream log, position by position.
    const applied = async (u: number) =>
      (await redis.lrange(ProjectionKeys.log(names.keyPrefix, u), 0, -1)).map(
        (entry) => Activity.parse(JSON.parse(logEntryJson(entry))).id,
      );
    await eventually(
      async () => {
        for (const u of users)
          if ((await applied(u)).length !== distinct.get(u)!.size) return undefined;
        return true;
      },
      90_000,
      200,
    );
    const expected = new Map(
      await Promise.all(users.map(async (u) => [u, await applied(u)] as const)),
    );
    // On a timeout the comparisons below show what is missing.
    await eventually(
      async () =>
        users.every(
          (u, i) =>
            hoppers[i]!.received.length >= expected.get(u)!.length &&
            steady[i]!.received.length >= expected.get(u)!.length,
        )
          ? true
          : undefined,
      60_000,
      100,
    ).catch(() => undefined);
    for (const h of hoppers) await h.stop();

    users.forEach((u, i) => {
      const context = `seed ${seed}, user ${u}, ${hoppers[i]!.hops()} reconnects`;
      expect(new Set(expected.get(u)), context).toEqual(distinct.get(u));
      expect(steady[i]!.received, context).toEqual(expected.get(u));
      expect(
        hoppers[i]!.received.map((r) => r.id),
        context,
      ).toEqual(expected.get(u));
      expect(hoppers[i]!.resets(), context).toBe(0);
      // Cursors are positions: 1, 2, 3, … in one epoch.
      expect(
        hoppers[i]!.received.map((r) => Number(r.cursor.split('.')[1])),
        context,
      ).toEqual(expected.get(u)!.map((_, p) => p + 1));
    });
    for (const s of steady) s.ws.close();
  }, 240_000);

  it('when Redis goes back in time (restored from an older snapshot) mid-stream, then a connected client still gets every position once, in order, without a reset', async () => {
    const redisServer = await startDisposable('redis');
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    const names = isolate('timetravel');
    await createTestTopics(infra, names.topicPrefix, { 'activity.events': 3, 'users.events': 1 });
    const common = {
      REDIS_URL: redisServer.url,
      REDIS_KEY_PREFIX: names.keyPrefix,
      JWT_SECRET: secret,
      USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
      LOG_LEVEL: 'silent',
    };
    const activity = await createActivityService(
      loadActivityConfig({
        ...common,
        KAFKA_BROKERS: infra.kafkaBrokers.join(','),
        KAFKA_TOPIC_PREFIX: names.topicPrefix,
        KAFKA_GROUP_ID: `${names.id}-p`,
        FEED_MAX_ITEMS: '2000',
      }),
    );
    await activity.start();
    const gateway = await createGatewayService(loadGatewayConfig(common));
    await gateway.start();
    const url = (await gateway.listen(0, '127.0.0.1')).url.replace('http', 'ws');
    const publisher = new ActivityPublisher({
      brokers: infra.kafkaBrokers,
      topicPrefix: names.topicPrefix,
    });
    const topic = `${names.topicPrefix}activity.events`;
    const applied = async () =>
      (
        await redis.mget([0, 1, 2].map((p) => ProjectionKeys.offset(names.keyPrefix, topic, p)))
      ).reduce((n, v) => n + Number(v ?? 0), 0);
    try {
      const watched = [1, 2, 3];
      const clients = await Promise.all(
        watched.map(async (user) => {
          const received: string[] = [];
          const resets: string[] = [];
          const ws = new WebSocket(`${url}/api/v1/users/${user}/activity-stream`, {
            headers: { authorization: `Bearer ${await token(String(user))}` },
          });
          const closes: number[] = [];
          ws.on('close', (code) => closes.push(code));
          await new Promise<void>((resolve) =>
            ws.on('message', (data) => {
              const message = StreamMessage.parse(JSON.parse(data.toString()));
              if (message.type === 'activity') received.push(message.activity.id);
              if (message.type === 'reset') resets.push(message.reason);
              if (message.type === 'ready') resolve();
            }),
          );
          return { user, ws, received, resets, closes };
        }),
      );
      const events = Array.from({ length: 8000 }, (_, i) => ({
        specversion: '1.0',
        id: `tt-${i}`,
        source: '/time-travel',
        type: 'io.activitysuite.activity.recorded',
        subject: String(1 + (i % 20)),
        time: new Date(Date.now() - 86_400_000 + ((i * 7919) % 100_000)).toISOString(),
        data: {
          actorId: 1,
          verb: 'edited',
          object: { type: 'doc', id: String(i) },
          workspaceId: 1,
        },
      }));
      const produce = async (from: number, to: number) => {
        for (let i = from; i < to; i += 200) {
          await publisher.publish(events.slice(i, Math.min(to, i + 200)));
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await produce(0, 3000);
      await eventually(async () => ((await applied()) === 3000 ? true : undefined), 60_000, 20);
      await redis.save();
      const producing = produce(3000, 6000);
      await eventually(async () => ((await applied()) > 4000 ? true : undefined), 60_000, 10);
      await redisServer.crash();
      await redisServer.start();
      await producing;
      await produce(6000, 8000);
      await eventually(async () => ((await applied()) === 8000 ? true : undefined), 90_000, 100);
      for (const c of clients) {
        const sequence = events.filter((e) => e.subject === String(c.user)).map((e) => e.id);
        await eventually(
          async () => (c.received.length >= sequence.length ? true : undefined),
          30_000,
        ).catch(() => undefined);
        expect(c.received, `user ${c.user}`).toEqual(sequence);
        expect(c.resets).toEqual([]);
        // The stream stayed open through the outage: the gateway caught up once Redis was back.
        expect(c.closes).toEqual([]);
        c.ws.close();
      }
    } finally {
      await publisher.close();
      await gateway.stop();
      await activity.stop();
      redis.disconnect();
      await redisServer.destroy();
    }
  }, 240_000);
});
