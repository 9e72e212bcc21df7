import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { Activity, splitFeedEntry } from '@suite/contracts';
import { freePort } from '@suite/local-infra';
import { createTestTopics, eventually, isolate, startChildService, testInfra, type ChildService } from '@suite/testkit';
import { secret } from './helpers.js';

const infra = testInfra();
const serviceDir = `${import.meta.dirname}/..`;
const FEED_CAP = 50;
const USERS = 200;
const redis = new Redis(infra.redisUrl);
const live: ChildService[] = [];
afterAll(async () => {
  for (const c of live) await c.kill('SIGKILL');
  redis.disconnect();
});

interface Produced {
  id: string;
  user: number;
  ws: number;
  timeMs: number;
}

/** 20k events over 200 users, shuffled times, with duplicate publishes of ~5% of the ids. */
function makeEvents(total: number, seed: number): { events: Produced[]; records: { key: string; value: string }[] } {
  let x = seed;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const events: Produced[] = [];
  const records: { key: string; value: string }[] = [];
  for (let i = 0; records.length < total; i++) {
    const duplicate = events.length > 0 && rand() < 0.05;
    const e = duplicate ? events[Math.floor(rand() * events.length)]! : { id: `c${seed}-${i}`, user: 1 + Math.floor(rand() * USERS), ws: 1 + Math.floor(rand() * 5), timeMs: Date.UTC(2026, 5, 1) + Math.floor(rand() * 86_400_000) };
    if (!duplicate) events.push(e);
    records.push({
      key: String(e.user),
      value: JSON.stringify({
        specversion: '1.0', id: e.id, source: '/crash-test', type: 'io.activitysuite.activity.recorded', time: new Date(e.timeMs).toISOString(), subject: String(e.user),
        data: { actorId: e.user, verb: 'edited', object: { type: 'doc', id: e.id }, workspaceId: e.ws },
      }),
    });
  }
  return { events, records };
}

/** Counts, capped feeds and workspace recency computed straight from what was produced. */
function oracle(events: Produced[]) {
  const byUser = new Map<number, Produced[]>();
  for (const e of events) byUser.set(e.user, [...(byUser.get(e.user) ?? []), e]);
  const out = new Map<number, { count: number; feed: string[]; wslast: Record<string, string>; wscount: Record<string, string> }>();
  for (const [user, list] of byUser) {
    const members = list.map((e) => `${String(e.timeMs).padStart(15, '0')}:${e.id}`).sort().reverse().slice(0, FEED_CAP);
    const wslast: Record<string, string> = {};
    const wscount: Record<string, string> = {};
    for (const e of list) {
      wslast[e.ws] = String(Math.max(Number(wslast[e.ws] ?? 0), e.timeMs));
      wscount[e.ws] = String(Number(wscount[e.ws] ?? 0) + 1);
    }
    out.set(user, { count: list.length, feed: members, wslast, wscount });
  }
  return out;
}

async function expectMatchesOracle(prefix: string, events: Produced[]) {
  for (const [user, want] of oracle(events)) {
    const u = `${prefix}u:${user}:`;
    const [stats, entries] = await Promise.all([redis.hgetall(`${u}stats`), redis.zrevrangebylex(`${u}feed`, '+', '-')]);
    const feed = entries.map((e) => splitFeedEntry(e).member);
    const field = (p: string) => Object.fromEntries(Object.entries(stats).filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), v]));
    expect({ user, count: Number(stats.n), feed, wslast: field('l:'), wscount: field('c:') }).toEqual({ user, count: want.count, feed: want.feed, wslast: want.wslast, wscount: want.wscount });
    // Each entry carries its own activity.
    for (const e of entries) expect(Activity.parse(JSON.parse(splitFeedEntry(e).json)).userId).toBe(user);
  }
}

async function scenario(label: string, run: (ctx: { start: () => Promise<ChildService>; produce: (from: number, to: number) => Promise<void>; applied: () => Promise<number> }) => Promise<void>) {
  const names = isolate(label);
  await createTestTopics(infra, names.topicPrefix, { 'activity.events': 3, 'users.events': 1 });
  const topic = `${names.topicPrefix}activity.events`;
  const { events, records } = makeEvents(20_000, label.length * 7919);
  const env = {
    REDIS_URL: infra.redisUrl, REDIS_KEY_PREFIX: names.keyPrefix, KAFKA_BROKERS: infra.kafkaBrokers.join(','), KAFKA_TOPIC_PREFIX: names.topicPrefix,
    KAFKA_GROUP_ID: `${names.id}-g`, KAFKA_SESSION_TIMEOUT_MS: '6000', FEED_MAX_ITEMS: String(FEED_CAP), JWT_SECRET: secret, LOG_LEVEL: 'warn', PUBLISH_LIVE: 'false',
  };
  const kafka = new Kafka({ clientId: label, brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const start = async () => {
    const child = await startChildService(serviceDir, 'src/main.ts', env, await freePort());
    live.push(child);
    return child;
  };
  const produce = async (from: number, to: number) => {
    // Small, paced sends keep the log growing for at least 200 ms a round, so a kill lands
    // mid-stream even though the consumer applies faster than one producer writes (unpaced, one
    // CI run's round was fully applied before its kill).
    for (let i = from; i < to; i += 250) {
      await producer.send({ topic, acks: -1, messages: records.slice(i, Math.min(to, i + 250)) });
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const applied = async () => {
    const offsets = await redis.hgetall(`${names.keyPrefix}offsets`);
    return Object.entries(offsets).filter(([k]) => k.startsWith(topic)).reduce((n, [, v]) => n + Number(v), 0);
  };
  await run({ start, produce, applied });
  await producer.disconnect();
  // Caught up when the offsets stored with the projection cover every record produced.
  await eventually(async () => ((await applied()) === records.length ? true : undefined), 120_000, 500);
  await expectMatchesOracle(names.keyPrefix, events);
}

const pause = (min: number, max: number) => new Promise((r) => setTimeout(r, min + Math.random() * (max - min)));

describe('crash safety', () => {
  it('when the consumer is SIGKILLed at random while 20k events stream in, every projection equals the oracle', async () => {
    await scenario('crash', async ({ start, produce, applied }) => {
      let child = await start();
      const kills: number[] = [];
      for (let round = 0; round < 4; round++) {
        const before = await applied();
        const producing = produce(round * 5000, (round + 1) * 5000);
        // Kill only once this process is applying batches, at a random moment mid-stream.
        await eventually(async () => ((await applied()) > before ? true : undefined), 60_000, 20);
        await pause(0, 60);
        expect(await child.kill('SIGKILL')).toBeNull();
        kills.push(await applied());
        await producing;
        child = await start();
      }
      // Each kill landed while the projection was behind the log: the crash really was mid-stream.
      expect(kills.every((k, i) => k < (i + 1) * 5000)).toBe(true);
    });
  }, 300_000);

  it('with two consumer processes and a rebalance in the middle (one killed), every projection equals the oracle', async () => {
    await scenario('rebalance', async ({ start, produce }) => {
      const a = await start();
      await produce(0, 6000);
      const b = await start();
      await produce(6000, 12_000);
      await pause(300, 800);
      await a.kill('SIGKILL');
      await produce(12_000, 20_000);
      void b;
    });
  }, 300_000);
});
