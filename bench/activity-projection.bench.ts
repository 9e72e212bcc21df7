// Activity projection throughput, three consumers of the same preloaded topic in one run, with the
// same Kafka client (kafkajs eachBatch, same fetch settings) and the same Redis client (ioredis):
//   bare       does nothing with the records (the Kafka floor);
//   naive      what a user would write instead: JSON.parse and one pipeline per batch of the same
//              writes (feed, count, workspace count and recency), no validation, no dedup, no
//              offsets in Redis (at-least-once);
//   projected  the real activity-service consumer (exactly-once: dedup, offsets in the same
//              transaction, stream positions, live batches).
// Two workloads: uniform over 2,000 users (the targets) and Zipf-like (s = 1) over the same users.
// BENCH_PROFILE=<dir> writes a CPU profile of each projected run there.
// BENCH_REDIS=cluster runs all three on the local 3-primary Redis Cluster (the naive consumer then
// sends its writes through ioredis's auto-pipelining, which batches them per node). The Redis bytes
// per retained activity are `used_memory` (over every primary) before and after the projection of
// the uniform workload, divided by the activities it retains.
// A share of the events (BENCH_NOTIFY_SHARE, 0.1) notify two other users: the projected consumer then
// routes them (the inbox router, Kafka transactions) and applies the deliveries (the inbox), and is
// done when those are applied too; the naive one adds each to the recipients' inbox sorted set and
// unread count.
//   npm run bench:activity            (BENCH_EVENTS=1000000, BENCH_USERS=2000, BENCH_REDIS=single, BENCH_NOTIFY_SHARE=0.1)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Cluster, Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { FEED_BLOCK_SIZE, ProjectionKeys, SEEN_BUCKETS, inboxKeys } from '@suite/contracts';
import { clusterTarget, primaries } from '@suite/redis';
import { ensureRedisCluster, ensureTopics, infraUp, readPid } from '@suite/local-infra';
import { createActivityService, loadActivityConfig } from '@suite/activity-service';
import { USERS_SERVICE_ORIGIN, signOrigin } from '@suite/auth';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
/** Share of events that notify two other users (the inbox router and the inbox projection in the path). */
const NOTIFY_SHARE = Number(process.env.BENCH_NOTIFY_SHARE ?? 0.1);
const USERS = Number(process.env.BENCH_USERS ?? 2000);
const PARTITIONS = 6;
const run = `bench${Date.now()}`;
const out = (line: string) => process.stdout.write(`${line}\n`);

const REDIS_MODE = process.env.BENCH_REDIS === 'cluster' ? 'cluster' : 'single';
const local = !(process.env.KAFKA_BROKERS && process.env.REDIS_URL);
const up = local
  ? await infraUp()
  : { kafkaBrokers: process.env.KAFKA_BROKERS!.split(','), redisUrl: process.env.REDIS_URL! };
const env = {
  ...up,
  redisUrl:
    REDIS_MODE === 'cluster'
      ? (process.env.REDIS_CLUSTER_URL ?? (await ensureRedisCluster()).url)
      : up.redisUrl,
};
const kafka = new Kafka({
  clientId: 'bench',
  brokers: env.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});

/** A client for one Redis or the cluster; `autoPipelining` batches commands per node. */
function connect(autoPipelining = false): Redis | Cluster {
  const cluster = clusterTarget(env.redisUrl);
  return cluster
    ? new Cluster(cluster.nodes, { scaleReads: 'master', enableAutoPipelining: autoPipelining })
    : new Redis(env.redisUrl, { enableAutoPipelining: autoPipelining });
}
const redis = connect();
if (redis instanceof Cluster) await new Promise((resolve) => redis.once('ready', resolve));

/** `INFO` fields summed over every primary. */
async function infoSum(section: string, fields: string[]): Promise<number> {
  let total = 0;
  for (const node of primaries(redis)) {
    const info = await node.info(section);
    for (const name of fields)
      total += Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  }
  return total;
}

/** A seeded generator: both workloads are the same on every run. */
function prng(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** User of event j: uniform round-robin, or Zipf-like with P(k) proportional to 1/k. */
function userPicker(kind: 'uniform' | 'zipf'): (j: number) => number {
  if (kind === 'uniform') return (j) => 1 + (j % USERS);
  const cdf: number[] = [];
  let sum = 0;
  for (let k = 1; k <= USERS; k++) cdf.push((sum += 1 / k));
  const rand = prng(42);
  return () => {
    const target = rand() * sum;
    let lo = 0;
    let hi = USERS - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

const ORIGIN_KEY = 'bench-origin-key-bench-origin-key-0000';
/** Whether event j notifies (a fixed pattern: the same events in every run), and whom: two other users. */
const notifying = (j: number) => NOTIFY_SHARE > 0 && j % Math.round(1 / NOTIFY_SHARE) === 0;
/** What each inbox keeps (the service's default, set explicitly below). */
const INBOX_MAX_ITEMS = 1000;
/** Two recipients spread over every user by a multiplicative hash of j (not the actor's neighbours). */
const recipientsOf = (j: number, user: number) =>
  [
    1 + ((Math.imul(j, 2654435761) >>> 0) % USERS),
    1 + ((Math.imul(j + 1, 2246822519) >>> 0) % USERS),
  ].filter((r, i, all) => r !== user && all.indexOf(r) === i);
/** Per activity topic, the deliveries its workload makes per recipient (counted while it is preloaded). */
const deliveriesTo = new Map<string, Map<number, number>>();
/** The notifications the inboxes keep of a topic's deliveries: each inbox at most INBOX_MAX_ITEMS. */
const deliveriesOf = (topic: string) =>
  [...(deliveriesTo.get(topic)?.values() ?? [])].reduce(
    (n, c) => n + Math.min(c, INBOX_MAX_ITEMS),
    0,
  );

// A day ago: inside the accepted event-time window (EVENT_MAX_AGE_S) around the records' timestamps.
const base = Date.now() - 86_400_000;
async function preload(topic: string, kind: 'uniform' | 'zipf'): Promise<void> {
  const inbox = topic.replace('activity.events', 'inbox.events');
  const users = topic.replace('activity.events', 'users.events');
  await ensureTopics(env.kafkaBrokers, [
    { topic, numPartitions: PARTITIONS },
    { topic: `${topic}.dlq`, numPartitions: 1 },
    { topic: users, numPartitions: 1 },
    { topic: inbox, numPartitions: PARTITIONS },
    { topic: `${inbox}.dlq`, numPartitions: 1 },
  ]);
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  // Every user can reach the seven workspaces, so every named recipient gets the notification.
  const grants = Array.from({ length: USERS }, (_, i) => {
    const value = JSON.stringify({
      specversion: '1.0',
      id: `${run}-${kind}-access-${i + 1}`,
      source: '/users-service',
      type: 'io.activitysuite.user.access-changed',
      time: new Date().toISOString(),
      subject: String(i + 1),
      datacontenttype: 'application/json',
      data: {
        userId: i + 1,
        version: 1,
        workspaces: Array.from({ length: 7 }, (_, w) => ({
          workspaceId: w + 1,
          name: `W${w + 1}`,
          role: 'member',
        })),
      },
    });
    return {
      key: String(i + 1),
      value,
      headers: signOrigin(USERS_SERVICE_ORIGIN, ORIGIN_KEY, value),
    };
  });
  for (let i = 0; i < grants.length; i += 200)
    await producer.send({ topic: users, acks: -1, messages: grants.slice(i, i + 200) });
  const pick = userPicker(kind);
  const t0 = performance.now();
  for (let i = 0; i < TOTAL; i += 10_000) {
    const messages = [];
    for (let j = i; j < Math.min(TOTAL, i + 10_000); j++) {
      const user = pick(j);
      const named = notifying(j) ? recipientsOf(j, user) : [];
      const to = deliveriesTo.get(topic) ?? new Map<number, number>();
      deliveriesTo.set(topic, to);
      for (const r of named) to.set(r, (to.get(r) ?? 0) + 1);
      const notify = named.length > 0 ? `,"notify":{"users":[${named.join(',')}]}` : '';
      const value = `{"specversion":"1.0","id":"${run}-${kind}-${j}","source":"/bench","type":"io.activitysuite.activity.recorded","time":"${new Date(base + j * 37).toISOString()}","subject":"${user}","data":{"actorId":${user},"verb":"viewed","object":{"type":"doc","id":"${j % 9973}"},"workspaceId":${1 + (j % 7)}${notify}}}`;
      messages.push({ key: String(user), value });
    }
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
  out(
    `preloaded ${TOTAL} ${kind} events into ${topic} at ${((TOTAL / (performance.now() - t0)) * 1000).toFixed(0)} events/s`,
  );
}

/** CPU seconds used so far by Redis (from INFO) and by the local Kafka broker (from /proc). */
async function serverCpu(): Promise<{ redis: number; broker: number | undefined }> {
  const pid = local ? readPid('kafka') : undefined;
  let broker: number | undefined;
  if (pid) {
    // utime and stime, in clock ticks (100 per second on Linux).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    broker = (Number(stat[11]) + Number(stat[12])) / 100;
  }
  return { redis: await infoSum('cpu', ['used_cpu_sys', 'used_cpu_user']), broker };
}

interface Measured {
  rate: number;
  seconds: number;
  nodeUs: number;
  redisUs: number;
  brokerUs: number | undefined;
}

/**
 * Runs one consumer to completion. `first` resolves when its timed window opens (its first batch
 * starts, or for the projection its first transaction is seen) with the records already done by
 * then; `done` when all TOTAL records are in. The group join is outside the window; CPU is counted
 * over the whole run.
 */
async function measure(
  start: () => Promise<{
    first: Promise<{ at: number; already: number }>;
    done: Promise<number>;
    stop: () => Promise<void>;
  }>,
): Promise<Measured> {
  const cpu0 = process.cpuUsage();
  const server0 = await serverCpu();
  const consumer = await start();
  const { at: first, already } = await consumer.first;
  const end = await consumer.done;
  const cpu = process.cpuUsage(cpu0);
  const server1 = await serverCpu();
  await consumer.stop();
  const seconds = (end - first) / 1000;
  return {
    rate: (TOTAL - already) / seconds,
    seconds,
    nodeUs: (cpu.user + cpu.system) / TOTAL,
    redisUs: ((server1.redis - server0.redis) * 1e6) / TOTAL,
    brokerUs:
      server0.broker === undefined || server1.broker === undefined
        ? undefined
        : ((server1.broker - server0.broker) * 1e6) / TOTAL,
  };
}

/** A kafkajs eachBatch consumer with the fetch settings the activity-service uses; `work` handles each batch. */
function kafkajsConsumer(
  topic: string,
  group: string,
  work: (messages: { value: Buffer | null }[]) => Promise<void>,
) {
  return async () => {
    const consumer = kafka.consumer({ groupId: group });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    let resolveFirst!: (first: { at: number; already: number }) => void;
    let resolveDone!: (t: number) => void;
    const first = new Promise<{ at: number; already: number }>((r) => (resolveFirst = r));
    const done = new Promise<number>((r) => (resolveDone = r));
    await consumer.run({
      autoCommit: true,
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: async ({ batch }) => {
        if (seen === 0) resolveFirst({ at: performance.now(), already: 0 });
        await work(batch.messages);
        seen += batch.messages.length;
        if (seen >= TOTAL) resolveDone(performance.now());
      },
    });
    return { first, done, stop: () => consumer.disconnect() };
  };
}

const bare = (topic: string) => kafkajsConsumer(topic, `${topic}-bare`, async () => undefined);

/**
 * What a user would write: parse, and per event the same feed, count and recency writes, one
 * pipeline per batch (on a cluster, auto-pipelined: one pipeline per node).
 */
function naive(topic: string, prefix: string) {
  const client = connect(REDIS_MODE === 'cluster');
  return kafkajsConsumer(topic, `${topic}-naive`, async (messages) => {
    const sent: Promise<unknown>[] = [];
    const pipeline = client instanceof Cluster ? perNode(client, sent) : client.pipeline();
    const users = new Set<string>();
    for (const m of messages) {
      const value = m.value!.toString();
      const event = JSON.parse(value) as {
        subject: string;
        time: string;
        data: { workspaceId: number; notify?: { users: number[] } };
      };
      const u = `${prefix}naive:${event.subject}:`;
      const time = Date.parse(event.time);
      for (const r of event.data.notify?.users ?? []) {
        pipeline.zadd(`${prefix}naive:${r}:inbox`, time, value);
        pipeline.hincrby(`${prefix}naive:${r}:stats`, 'unread', 1);
      }
      pipeline.zadd(`${u}feed`, time, value);
      pipeline.hincrby(`${u}stats`, 'n', 1);
      pipeline.hincrby(`${u}stats`, `c:${event.data.workspaceId}`, 1);
      pipeline.zadd(`${u}recency`, 'GT', time, event.data.workspaceId);
      users.add(u);
    }
    for (const u of users) pipeline.zremrangebyrank(`${u}feed`, 0, -1001);
    await pipeline.exec();
    await Promise.all(sent);
  });
}

/** The naive writes on a cluster: each command sent by itself, auto-pipelined per node. */
function perNode(client: Cluster, sent: Promise<unknown>[]) {
  return {
    zadd: (key: string, ...args: (string | number)[]) =>
      void sent.push(client.zadd(key, ...(args as [number, string]))),
    hincrby: (key: string, field: string, by: number) =>
      void sent.push(client.hincrby(key, field, by)),
    zremrangebyrank: (key: string, start: number, stop: number) =>
      void sent.push(client.zremrangebyrank(key, start, stop)),
    exec: async () => undefined,
  };
}

/** The activity-service, in-process, consuming the topic into its Redis layout. */
function projected(topicPrefix: string, keyPrefix: string) {
  return async () => {
    const service = await createActivityService(
      loadActivityConfig({
        REDIS_URL: env.redisUrl,
        REDIS_KEY_PREFIX: keyPrefix,
        KAFKA_BROKERS: env.kafkaBrokers.join(','),
        KAFKA_TOPIC_PREFIX: topicPrefix,
        KAFKA_GROUP_ID: `${topicPrefix}projector`,
        JWT_SECRET: 'bench-secret-bench-secret-bench-secret-00',
        USERS_EVENTS_SIGNING_KEY: ORIGIN_KEY,
        LOG_LEVEL: 'warn',
        CONSUMER_CONCURRENCY: String(PARTITIONS),
        INBOX_MAX_ITEMS: String(INBOX_MAX_ITEMS),
        PUBLISH_LIVE: process.env.BENCH_PUBLISH_LIVE ?? 'true',
      }),
    );
    await service.start();
    const topic = `${topicPrefix}activity.events`;
    const keys = Array.from({ length: PARTITIONS }, (_, p) =>
      ProjectionKeys.offset(keyPrefix, topic, p),
    );
    const applied = async () => (await redis.mget(keys)).reduce((n, v) => n + Number(v ?? 0), 0);
    // Deliveries applied: the unread sets of every user (nothing marks them read here), in one
    // pipeline on one Redis (2,000 commands sent one by one would take the measured consumer's CPU).
    const expectedDeliveries = deliveriesOf(topic);
    const unreadKeys = Array.from({ length: USERS }, (_, u) =>
      ProjectionKeys.inboxUnread(keyPrefix, u + 1),
    );
    const delivered = async () => {
      if (expectedDeliveries === 0) return 0;
      const counts =
        redis instanceof Cluster
          ? await Promise.all(unreadKeys.map((k) => redis.zcard(k)))
          : (await redis.pipeline(unreadKeys.map((k) => ['zcard', k])).exec())!.map(([, n]) =>
              Number(n),
            );
      return counts.reduce((n, c) => n + c, 0);
    };
    let firstAt = 0;
    let firstApplied = 0;
    let activitiesAt = 0;
    let countedAt = 0;
    const done = (async () => {
      for (;;) {
        const n = await applied();
        if (firstAt === 0 && n > 0) {
          firstAt = performance.now();
          firstApplied = n;
        }
        if (n >= TOTAL && activitiesAt === 0) activitiesAt = performance.now();
        // The deliveries are counted every 50 ms at most: each count is 2,000 commands.
        const countNow = n >= TOTAL && performance.now() - countedAt >= 50;
        if (countNow) countedAt = performance.now();
        if (countNow && (await delivered()) >= expectedDeliveries) {
          if (expectedDeliveries > 0)
            out(
              `projected (${topicPrefix}): activities applied after ${((activitiesAt - firstAt) / 1000).toFixed(1)} s, every delivery after ${((performance.now() - firstAt) / 1000).toFixed(1)} s`,
            );
          return performance.now();
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const first = (async () => {
      while (firstAt === 0) await new Promise((r) => setTimeout(r, 5));
      return { at: firstAt, already: firstApplied };
    })();
    const stop = async () => {
      if (expectedDeliveries > 0) out(await inboxPathCounts(service));
      await service.stop();
    };
    return { first, done, stop };
  };
}

/** How the deliveries went through: the router's transactions and the inbox consumer's batches (the service's own metrics). */
async function inboxPathCounts(service: Awaited<ReturnType<typeof createActivityService>>) {
  const server = await service.listen(0, '127.0.0.1');
  const text = await (await fetch(`${server.url}/metrics`)).text();
  await server.close(0);
  const sum = (pattern: RegExp) =>
    [...text.matchAll(pattern)].reduce((n, m) => n + Number(m[1]), 0);
  const transactions = sum(/^inbox_router_batch_duration_seconds_count\S* (\S+)$/gm);
  const routing = sum(/^inbox_router_batch_duration_seconds_sum\S* (\S+)$/gm);
  const inboxBatches = sum(
    /^activity_batch_duration_seconds_count\{[^}]*inbox\.events[^}]*\} (\S+)$/gm,
  );
  const inboxRecords = sum(/^inbox_events_applied_total\S* (\S+)$/gm);
  return `inbox path: ${transactions} router transactions (${routing.toFixed(1)} s in all); ${inboxRecords} inbox records applied in ${inboxBatches} batches (${(inboxRecords / Math.max(inboxBatches, 1)).toFixed(1)} per batch)`;
}

/**
 * With BENCH_PROFILE=<dir>, a V8 CPU profile of this process while `work` runs, written to
 * `<dir>/<name>.cpuprofile` (the projected consumer runs in this process, the others do not matter).
 */
async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}

async function cleanRedis(pattern: string): Promise<void> {
  for (const node of primaries(redis)) {
    for (let cursor = '0'; ;) {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      // One key at a time: on a cluster two keys may live in different slots.
      await Promise.all(keys.map((key) => node.unlink(key)));
      if (next === '0') break;
      cursor = next;
    }
  }
}

out(
  `# activity projection benchmark: ${TOTAL} events, ${USERS} users, ${PARTITIONS} partitions, Redis ${REDIS_MODE === 'cluster' ? `cluster (${primaries(redis).length} primaries)` : 'single'}; Kafka, Redis and the consumer share this machine (${(await import('node:os')).cpus().length} cores)`,
);
const results: Record<string, Record<string, Measured>> = {};
let bytesPerActivity = 0;
for (const kind of ['uniform', 'zipf'] as const) {
  const topicPrefix = `${run}.${kind}.`;
  const keyPrefix = `${run}:${kind}:`;
  const topic = `${topicPrefix}activity.events`;
  await preload(topic, kind);
  results[kind] = {};
  results[kind].bare = await measure(bare(topic));
  results[kind].naive = await measure(naive(topic, keyPrefix));
  const before = await infoSum('memory', ['used_memory']);
  results[kind].projected = await profiled(`projected-${kind}`, () =>
    measure(projected(topicPrefix, keyPrefix)),
  );
  if (kind === 'uniform') {
    // Every per-user key of the projection (log, feed blocks, dedup buckets, stats, access) and the slot markers; each user keeps at most 1,000.
    const retained = USERS * Math.min(1000, Math.ceil(TOTAL / USERS));
    // The inboxes are counted apart (MEMORY USAGE of each user's inbox keys): this figure is the activities'.
    let inboxBytes = 0;
    for (let u = 1; u <= USERS; u++) {
      for (const key of inboxKeys(keyPrefix, u))
        inboxBytes += Number((await redis.memory('USAGE', key)) ?? 0);
    }
    const deliveries = deliveriesOf(topic);
    if (deliveries > 0)
      out(
        `redis inboxes: ${(inboxBytes / 2 ** 20).toFixed(1)} MiB for ${deliveries} notifications: ${(inboxBytes / deliveries).toFixed(0)} B per notification (with its inbox log entry)`,
      );
    bytesPerActivity =
      ((await infoSum('memory', ['used_memory'])) - before - inboxBytes) / retained;
    out(
      `redis used_memory grew ${((bytesPerActivity * retained) / 2 ** 20).toFixed(1)} MiB for ${retained} retained activities: ${bytesPerActivity.toFixed(0)} B per activity`,
    );
  }
  if (kind === 'uniform') {
    // MEMORY USAGE per key, 50 users: the stream log, the feed blocks, the dedup buckets.
    const parts = { log: 0, feed: 0, seen: 0 };
    const usage = async (key: string) => Number((await redis.memory('USAGE', key)) ?? 0);
    for (let u = 1; u <= 50; u++) {
      parts.log += await usage(ProjectionKeys.log(keyPrefix, u));
      for (let b = 0; b <= Math.ceil(TOTAL / USERS / FEED_BLOCK_SIZE); b++)
        parts.feed += await usage(ProjectionKeys.feedBlock(keyPrefix, u, b));
      for (let b = 0; b < SEEN_BUCKETS; b++)
        parts.seen += await usage(ProjectionKeys.seenBucket(keyPrefix, u, b));
    }
    const items = 50 * Math.min(1000, Math.ceil(TOTAL / USERS));
    out(
      `redis bytes per retained activity by part (MEMORY USAGE, 50 users): stream log ${(parts.log / items).toFixed(0)}, feed blocks ${(parts.feed / items).toFixed(0)}, dedup buckets ${(parts.seen / items).toFixed(0)}`,
    );
  }
  await cleanRedis(`${run}:*`);
  const admin = kafka.admin();
  await admin.connect();
  await admin
    .deleteTopics({
      topics: [
        topic,
        `${topic}.dlq`,
        `${topicPrefix}users.events`,
        `${topicPrefix}inbox.events`,
        `${topicPrefix}inbox.events.dlq`,
      ],
    })
    .catch(() => undefined);
  await admin.disconnect();
}

out('');
out('workload  consumer    events/s   seconds   node us/event  redis us/event  broker us/event');
for (const [kind, byConsumer] of Object.entries(results)) {
  for (const [name, m] of Object.entries(byConsumer)) {
    out(
      `${kind.padEnd(9)} ${name.padEnd(10)} ${m.rate.toFixed(0).padStart(9)} ${m.seconds.toFixed(1).padStart(9)} ${m.nodeUs.toFixed(1).padStart(14)} ${m.redisUs.toFixed(1).padStart(15)} ${(m.brokerUs?.toFixed(1) ?? '-').padStart(16)}`,
    );
  }
}
const u = results.uniform!;
out('');
out(
  `notify share ${NOTIFY_SHARE}: ${deliveriesOf(`${run}.uniform.activity.events`)} deliveries in the uniform workload (projected: routed in Kafka transactions and applied to the inboxes before it counts as done)`,
);
out(
  `uniform: projected / naive = ${(u.projected!.rate / u.naive!.rate).toFixed(2)} (target >= 0.80); projected = ${u.projected!.rate.toFixed(0)} events/s (target >= 50000)`,
);
out(
  `zipf:    projected / naive = ${(results.zipf!.projected!.rate / results.zipf!.naive!.rate).toFixed(2)}`,
);
redis.disconnect();
out(
  `RESULT projected=${Math.round(u.projected!.rate)} naive=${Math.round(u.naive!.rate)} bare=${Math.round(u.bare!.rate)} bytes_per_activity=${Math.round(bytesPerActivity)} redis=${REDIS_MODE}`,
);
process.exit(0);
