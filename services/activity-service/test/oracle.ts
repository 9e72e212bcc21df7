import type { Cluster, Redis } from 'ioredis';
import { Partitioners, type Kafka } from 'kafkajs';
import { expect } from 'vitest';
import {
  Activity,
  FEED_BLOCK_SIZE,
  ProjectionKeys,
  StatsField,
  feedMemberText,
  splitLogEntry,
  type FeedKey,
} from '@suite/contracts';
import { ProjectionReader } from '@suite/projection-reader';
import { createTestTopics, isolate, testInfra, TEST_ORIGIN_KEY } from '@suite/testkit';
import { secret } from './helpers.js';

/** One distinct activity as a test produced it. */
export interface Produced {
  id: string;
  user: number;
  ws: number;
  timeMs: number;
}

/** Two days ago: event times inside the accepted window (EVENT_MAX_AGE_S) around the records' timestamps. */
const BASE_MS = Date.now() - 2 * 86_400_000;

/** `total` records over `users` users, shuffled times, with duplicate publishes of ~5% of the ids; deterministic per seed. */
export function makeEvents(
  total: number,
  seed: number,
  users = 200,
): { events: Produced[]; records: { key: string; value: string }[] } {
  let x = seed;
  const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const events: Produced[] = [];
  const records: { key: string; value: string }[] = [];
  for (let i = 0; records.length < total; i++) {
    const duplicate = events.length > 0 && rand() < 0.05;
    const e = duplicate
      ? events[Math.floor(rand() * events.length)]!
      : {
          id: `c${seed}-${i}`,
          user: 1 + Math.floor(rand() * users),
          ws: 1 + Math.floor(rand() * 5),
          timeMs: BASE_MS + Math.floor(rand() * 86_400_000),
        };
    if (!duplicate) events.push(e);
    records.push({
      key: String(e.user),
      value: JSON.stringify({
        specversion: '1.0',
        id: e.id,
        source: '/oracle-test',
        type: 'io.activitysuite.activity.recorded',
        time: new Date(e.timeMs).toISOString(),
        subject: String(e.user),
        data: {
          actorId: e.user,
          verb: 'edited',
          object: { type: 'doc', id: e.id },
          workspaceId: e.ws,
        },
      }),
    });
  }
  return { events, records };
}

/** Feed order: event time, then position, newest first. */
export const newestFirst = (
  a: { timeMs: number; position: number },
  b: { timeMs: number; position: number },
) => b.timeMs - a.timeMs || b.position - a.position;

/**
 * Counts, feeds, workspace recency and stream logs computed straight from what was produced.
 * `events` are the distinct events in the order they were produced: one user's records share a
 * partition, so that is the order they are applied in, and their stream positions. The feed is the
 * last `cap` applied, newest first by event time.
 */
function oracle(events: Produced[], cap: number) {
  const byUser = new Map<number, Produced[]>();
  for (const e of events) byUser.set(e.user, [...(byUser.get(e.user) ?? []), e]);
  const out = new Map<
    number,
    {
      count: number;
      feed: string[];
      wslast: Record<string, string>;
      wscount: Record<string, string>;
      stream: { position: number; log: string[] };
    }
  >();
  for (const [user, list] of byUser) {
    const kept = list.map((e, i) => ({ timeMs: e.timeMs, position: i + 1, id: e.id })).slice(-cap);
    const feed = kept.sort(newestFirst).map((e) => `${e.timeMs}:${e.position}:${e.id}`);
    const wslast: Record<string, string> = {};
    const wscount: Record<string, string> = {};
    for (const e of list) {
      wslast[e.ws] = String(Math.max(Number(wslast[e.ws] ?? 0), e.timeMs));
      wscount[e.ws] = String(Number(wscount[e.ws] ?? 0) + 1);
    }
    out.set(user, {
      count: list.length,
      feed,
      wslast,
      wscount,
      stream: { position: list.length, log: list.slice(-cap).map((e) => e.id) },
    });
  }
  return out;
}

/**
 * The whole feed as the read API pages it (`ProjectionReader.feedOlder`, pages of 7 so that pages
 * cross feed blocks), as `<time>:<position>:<event id>`; and that the feed blocks hold exactly the
 * log's positions, each scored with its activity's time.
 */
async function readFeed(
  redis: Redis | Cluster,
  prefix: string,
  user: number,
  position: number,
  log: Activity[],
): Promise<string[]> {
  const reader = new ProjectionReader(redis, prefix);
  const feed: string[] = [];
  for (let before: FeedKey | undefined; ;) {
    const page = await reader.feedOlder(user, before, 7);
    for (const e of page)
      feed.push(
        `${e.key.timeMs}:${e.key.position}:${Activity.parse(JSON.parse(e.json.toString())).id}`,
      );
    if (page.length < 7) break;
    before = page.at(-1)!.key;
  }
  const oldest = position - log.length + 1;
  const indexed: string[] = [];
  for (
    let b = Math.floor(oldest / FEED_BLOCK_SIZE) - 1;
    b <= Math.floor(position / FEED_BLOCK_SIZE) + 1;
    b++
  ) {
    const flat = await redis.zrange(ProjectionKeys.feedBlock(prefix, user, b), 0, -1, 'WITHSCORES');
    for (let i = 0; i < flat.length; i += 2) indexed.push(`${flat[i]}:${flat[i + 1]}`);
    // Members are `feedMemberText`: the digit count, then the digits.
    for (const m of flat.filter((_, i) => i % 2 === 0))
      expect(m).toBe(feedMemberText(Number(m.slice(1))));
  }
  const want = log.map((a, i) => `${feedMemberText(oldest + i)}:${Date.parse(a.time)}`);
  expect(indexed.sort()).toEqual(want.sort());
  return feed;
}

/** Every user's count, feed, recency, stream position and stream log equal the oracle's. */
export async function expectMatchesOracle(
  redis: Redis | Cluster,
  prefix: string,
  events: Produced[],
  cap: number,
): Promise<void> {
  for (const [user, want] of oracle(events, cap)) {
    const [stats, log] = await Promise.all([
      redis.hgetall(ProjectionKeys.stats(prefix, user)),
      redis.lrange(ProjectionKeys.log(prefix, user), 0, -1),
    ]);
    const entries = log.map((entry) => splitLogEntry(Buffer.from(entry)));
    const activities = entries.map((e) => Activity.parse(JSON.parse(e.json.toString())));
    const position = Number(stats[StatsField.position]);
    // Each log entry names its position, and whether its time is at least every earlier one's.
    expect(entries.map((e) => e.position)).toEqual(
      entries.map((_, i) => position - entries.length + 1 + i),
    );
    const mine = events.filter((e) => e.user === user);
    let newest = 0;
    const inOrder = mine.map((e) => {
      const ok = e.timeMs >= newest;
      newest = Math.max(newest, e.timeMs);
      return ok;
    });
    expect(entries.map((e) => e.inOrder)).toEqual(inOrder.slice(-entries.length));
    const feed = await readFeed(redis, prefix, user, position, activities);
    const field = (p: string) =>
      Object.fromEntries(
        Object.entries(stats)
          .filter(([k]) => k.startsWith(p))
          .map(([k, v]) => [k.slice(p.length), v]),
      );
    const stream = { position, log: activities.map((a) => a.id) };
    expect({
      user,
      count: Number(stats[StatsField.count]),
      feed,
      wslast: field(StatsField.lastActive),
      wscount: field(StatsField.workspaceCount),
      stream,
    }).toEqual({ user, ...want });
    // Each entry carries its own activity.
    for (const a of activities) expect(a.userId).toBe(user);
  }
}

/** The records applied so far: the sum of the next offsets stored with the projection. */
export async function appliedRecords(
  redis: Redis | Cluster,
  prefix: string,
  topic: string,
  partitions: number,
): Promise<number> {
  const offsets = await redis.mget(
    Array.from({ length: partitions }, (_, p) => ProjectionKeys.offset(prefix, topic, p)),
  );
  return offsets.reduce((n, v) => n + Number(v ?? 0), 0);
}

/**
 * A producer that sends `records[from..to)` in small, paced sends: the log keeps growing for at
 * least 200 ms per 5,000 records, so a fault injected meanwhile lands mid-stream (the consumer
 * applies faster than one producer writes).
 */
export async function pacedProducer(
  kafka: Kafka,
  topic: string,
  records: { key: string; value: string }[],
) {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return {
    async produce(from: number, to: number) {
      for (let i = from; i < to; i += 250) {
        await producer.send({ topic, acks: -1, messages: records.slice(i, Math.min(to, i + 250)) });
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => producer.disconnect(),
  };
}

/**
 * A scenario against the oracle: isolated names and topics (3 activity partitions), 20k records
 * over 200 users made from `seed`, and the activity-service environment for them on `redisUrl`.
 */
export async function oracleScenario(
  label: string,
  seed: number,
  redisUrl: string,
  env: Record<string, string> = {},
) {
  const infra = testInfra();
  const names = isolate(label);
  await createTestTopics(infra, names.topicPrefix, { 'activity.events': 3, 'users.events': 1 });
  const topic = `${names.topicPrefix}activity.events`;
  const { events, records } = makeEvents(20_000, seed);
  const config = {
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: names.keyPrefix,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: names.topicPrefix,
    KAFKA_GROUP_ID: `${names.id}-g`,
    JWT_SECRET: secret,
    USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
    ...env,
  };
  return { infra, names, topic, events, records, config };
}
