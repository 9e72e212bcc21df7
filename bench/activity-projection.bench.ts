// Activity projection throughput: sustained projected events/s end to end, against a bare
// kafkajs eachBatch consumer reading the same topic, in the same run.
//   npm run bench:activity            (BENCH_EVENTS=1000000 by default)
import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { ActivityEvent, feedEntry, feedMember, toActivity } from '@suite/contracts';
import { infraUp, ensureTopics } from '@suite/local-infra';
import { createActivityService, loadActivityConfig } from '@suite/activity-service';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const USERS = Number(process.env.BENCH_USERS ?? 2000);
const PARTITIONS = 6;
const run = `bench${Date.now()}`;
const prefix = `${run}.`;
const topic = `${prefix}activity.events`;

const env = process.env.KAFKA_BROKERS && process.env.REDIS_URL ? { kafkaBrokers: process.env.KAFKA_BROKERS.split(','), redisUrl: process.env.REDIS_URL } : await infraUp();
const kafka = new Kafka({ clientId: 'bench', brokers: env.kafkaBrokers, logLevel: logLevel.NOTHING });
await ensureTopics(env.kafkaBrokers, [{ topic, numPartitions: PARTITIONS }, { topic: `${topic}.dlq`, numPartitions: 1 }, { topic: `${prefix}users.events`, numPartitions: 1 }]);

const log = (line: string) => process.stdout.write(`${line}\n`);
log(`# activity projection benchmark: ${TOTAL} events, ${USERS} users, ${PARTITIONS} partitions`);

// 1. Preload.
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
const t0 = performance.now();
const base = Date.UTC(2026, 0, 1);
const eventJson = (j: number) => {
  const user = 1 + (j % USERS);
  return `{"specversion":"1.0","id":"${run}-${j}","source":"/bench","type":"io.activitysuite.activity.recorded","time":"${new Date(base + j * 37).toISOString()}","subject":"${user}","data":{"actorId":${user},"verb":"viewed","object":{"type":"doc","id":"${j % 9973}"},"workspaceId":${1 + (j % 7)}}}`;
};
for (let i = 0; i < TOTAL; i += 10_000) {
  const messages = [];
  for (let j = i; j < Math.min(TOTAL, i + 10_000); j++) messages.push({ key: String(1 + (j % USERS)), value: eventJson(j) });
  await producer.send({ topic, acks: -1, messages });
}
await producer.disconnect();
log(`preload: ${((TOTAL / (performance.now() - t0)) * 1000).toFixed(0)} events/s produced`);

// 2. Baseline: a bare kafkajs eachBatch consumer that does no work.
async function bare(): Promise<number> {
  const consumer = kafka.consumer({ groupId: `${run}-bare`, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let started = 0;
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: async ({ batch }) => {
        if (started === 0) started = performance.now();
        seen += batch.messages.length;
        if (seen >= TOTAL) resolve(performance.now() - started);
      },
    });
  });
  const ms = await done;
  await consumer.disconnect();
  return ms;
}

/** Redis's own CPU seconds (user + sys), from INFO. */
async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

// 3. The activity-service projection consumer, in-process, real Redis. Timed from its first
// applied batch, like the bare consumer, so the group join is reported apart.
async function projected(): Promise<{ ms: number; events: number; joinMs: number; cpuMs: number; redisCpuS: number }> {
  const redis = new Redis(env.redisUrl);
  const service = await createActivityService(
    loadActivityConfig({
      REDIS_URL: env.redisUrl, REDIS_KEY_PREFIX: `${run}:`, KAFKA_BROKERS: env.kafkaBrokers.join(','), KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: `${run}-projector`, JWT_SECRET: 'bench-secret-bench-secret-bench-secret-00', LOG_LEVEL: 'warn', CONSUMER_CONCURRENCY: String(PARTITIONS), PUBLISH_LIVE: process.env.BENCH_PUBLISH_LIVE ?? 'true',
    }),
  );
  await redis.config('RESETSTAT');
  const cpu0 = process.cpuUsage();
  const r0 = await redisCpu(redis);
  const started = performance.now();
  await service.start();
  const offsetsKey = `${run}:offsets`;
  let first: { at: number; applied: number } | undefined;
  for (;;) {
    const offsets = await redis.hgetall(offsetsKey);
    const applied = Object.entries(offsets).filter(([k]) => k.startsWith(topic)).reduce((n, [, v]) => n + Number(v), 0);
    if (!first && applied > 0) first = { at: performance.now(), applied };
    if (applied >= TOTAL) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - first!.at;
  const cpu = process.cpuUsage(cpu0);
  const redisCpuS = (await redisCpu(redis)) - r0;
  // Where Redis spent its time (commands inside scripts are counted too).
  const stats = (await redis.info('commandstats')).split('\n').flatMap((line) => {
    const m = /^cmdstat_(\w+):calls=(\d+),usec=(\d+)/.exec(line);
    return m ? [{ cmd: m[1]!, calls: Number(m[2]), usec: Number(m[3]) }] : [];
  });
  for (const s of stats.sort((a, b) => b.usec - a.usec).slice(0, 8)) {
    log(`  redis ${s.cmd.padEnd(16)} ${String(s.calls).padStart(9)} calls  ${(s.usec / 1e6).toFixed(2).padStart(7)} s  ${(s.usec / s.calls).toFixed(2)} us/call`);
  }
  await service.stop();
  // Memory of one user's feed (one sorted set: member and activity JSON together), averaged over a sample of users.
  let bytes = 0;
  for (let u = 1; u <= 50; u++) {
    bytes += Number(await redis.memory('USAGE', `${run}:u:${u}:feed`));
  }
  log(`redis memory per user feed (${Math.min(1000, Math.ceil(TOTAL / USERS))} items): ${(bytes / 50 / 1024).toFixed(1)} KiB`);
  redis.disconnect();
  return { ms, events: TOTAL - first!.applied, joinMs: first!.at - started, cpuMs: (cpu.user + cpu.system) / 1000, redisCpuS };
}

// 4. The Redis floor: the commands the projection script makes for the same events, sent as plain
// pipelined commands with no script and no dedup decision, in the same per-partition chunks of
// 2000 grouped by user. Its Redis CPU per event bounds any consumer that keeps this layout.
async function redisFloor(): Promise<number> {
  const redis = new Redis(env.redisUrl);
  const key = (user: number, name: string) => `${run}:floor:u:${user}:${name}`;
  const partitions: number[][] = Array.from({ length: PARTITIONS }, () => []);
  for (let j = 0; j < TOTAL; j++) partitions[(j % USERS) % PARTITIONS]!.push(j);
  let cpu = 0;
  for (const events of partitions) {
    for (let i = 0; i < events.length; i += 2000) {
      const groups = new Map<number, number[]>();
      for (const j of events.slice(i, i + 2000)) {
        const user = 1 + (j % USERS);
        const group = groups.get(user);
        if (group) group.push(j);
        else groups.set(user, [j]);
      }
      const pipeline = redis.pipeline();
      for (const [user, js] of groups) {
        const ids: string[] = [];
        const seen: (string | number)[] = [];
        const feed: string[] = [];
        // As the script: one last-active time and one count per workspace of the group.
        const workspaces = new Map<number, { last: number; count: number }>();
        for (const j of js) {
          const event = ActivityEvent.parse(JSON.parse(eventJson(j)));
          ids.push(event.id);
          seen.push(base + j, event.id);
          feed.push('0', feedEntry(feedMember(event.time, event.id), JSON.stringify(toActivity(event))));
          const ws = workspaces.get(event.data.workspaceId) ?? { last: 0, count: 0 };
          workspaces.set(event.data.workspaceId, { last: Math.max(ws.last, Date.parse(event.time)), count: ws.count + 1 });
        }
        const fields = [...workspaces.keys()].flatMap((ws) => [`l:${ws}`, `c:${ws}`]);
        const stats = [...workspaces].flatMap(([ws, { last, count }]) => [`l:${ws}`, last, `c:${ws}`, count]);
        pipeline.hmget(key(user, 'stats'), 'deleted', 'n', ...fields);
        pipeline.zmscore(key(user, 'seen'), ...ids);
        pipeline.zadd(key(user, 'seen'), ...seen);
        pipeline.zremrangebyscore(key(user, 'seen'), '-inf', '(0');
        pipeline.zadd(key(user, 'feed'), ...feed);
        pipeline.zremrangebyrank(key(user, 'feed'), 0, -1001);
        pipeline.hset(key(user, 'stats'), 'n', js.length, ...stats);
        pipeline.publish(`${run}:floor:live:${user}`, feed.filter((_, x) => x % 2 === 1).join('\x1e'));
      }
      // Only Redis's CPU is counted: building the pipeline in Node is not.
      const before = await redisCpu(redis);
      await pipeline.exec();
      cpu += (await redisCpu(redis)) - before;
    }
  }
  redis.disconnect();
  return cpu;
}

/** Removes the run's Redis keys (projection and floor). */
async function cleanRedis(): Promise<void> {
  const redis = new Redis(env.redisUrl);
  for (let cursor = '0'; ; ) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${run}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    if (next === '0') break;
    cursor = next;
  }
  redis.disconnect();
}

const bareMs = await bare();
const bareRate = (TOTAL / bareMs) * 1000;
log(`baseline  bare kafkajs eachBatch: ${bareRate.toFixed(0)} events/s (${(bareMs / 1000).toFixed(1)} s)`);
const p = await projected();
const rate = (p.events / p.ms) * 1000;
log(`projected activity-service:       ${rate.toFixed(0)} events/s (${(p.ms / 1000).toFixed(1)} s from the first applied batch; group join and seek took ${(p.joinMs / 1000).toFixed(1)} s more)`);
log(`ratio projected / bare: ${(rate / bareRate).toFixed(2)}  (target >= 0.80)   absolute target >= 50000 events/s`);
log(`cpu per event: node ${((p.cpuMs * 1000) / TOTAL).toFixed(1)} us, redis ${((p.redisCpuS * 1e6) / TOTAL).toFixed(1)} us`);
const floorUs = ((await redisFloor()) * 1e6) / TOTAL;
log(`redis floor (the same commands, pipelined, no script): ${floorUs.toFixed(1)} us redis cpu per event, so at most ${(1e6 / floorUs).toFixed(0)} events/s with one whole core for Redis`);
await cleanRedis();
const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: [topic, `${topic}.dlq`, `${prefix}users.events`] }).catch(() => undefined);
await admin.disconnect();
process.exit(0);
