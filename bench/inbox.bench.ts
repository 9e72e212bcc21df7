// The inbox end to end, through the real services (each its own process) on the local Kafka and
// Redis: publish -> router (Kafka transaction) -> inbox.events -> inbox projection -> stream.
//   1. Router and inbox throughput: a burst of BENCH_BURST activities, each naming one of
//      BENCH_RECIPIENTS recipients, from the first publish until every delivery is applied.
//   2. Publish -> notification on a connected device (p50/p99), one activity at a time.
//   3. A mark made on device A (HTTP POST, waits for its counts) -> the `inbox.state` on device B.
//   Baseline, same run and same services: an activity published -> the same user's stream.
//   npm run bench:inbox     (BENCH_BURST=5000 BENCH_RECIPIENTS=200 BENCH_SAMPLES=200)
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { ProjectionKeys, StreamMessage } from '@suite/contracts';
import { USERS_SERVICE_ORIGIN, signDevToken, signOrigin } from '@suite/auth';
import { ActivityPublisher } from '@suite/publisher';
import { ensureTopics, freePort, infraUp } from '@suite/local-infra';
import { startChild } from './child.js';

const BURST = Number(process.env.BENCH_BURST ?? 5000);
const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 200);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const secret = 'bench-secret-bench-secret-bench-secret-00';
const originKey = 'bench-origin-key-bench-origin-key-0000';
const run = `inbox${Date.now()}`;
const out = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WS = 3;

const env =
  process.env.KAFKA_BROKERS && process.env.REDIS_URL
    ? { kafkaBrokers: process.env.KAFKA_BROKERS.split(','), redisUrl: process.env.REDIS_URL }
    : await infraUp();
const redis = new Redis(env.redisUrl);
const serviceEnv = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  REDIS_URL: env.redisUrl,
  REDIS_KEY_PREFIX: `${run}:`,
  KAFKA_BROKERS: env.kafkaBrokers.join(','),
  KAFKA_TOPIC_PREFIX: `${run}.`,
  KAFKA_GROUP_ID: `${run}-projector`,
  JWT_SECRET: secret,
  USERS_EVENTS_SIGNING_KEY: originKey,
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  RATE_LIMIT_WRITE_PER_MIN: '100000000',
  RATE_LIMIT_READ_PER_MIN: '100000000',
  RATE_LIMIT_STREAM_PER_MIN: '100000000',
  RATE_LIMIT_INGEST_PER_MIN: '100000000',
};
await ensureTopics(
  env.kafkaBrokers,
  ['activity.events', 'users.events', 'inbox.events'].flatMap((t) => [
    { topic: `${run}.${t}`, numPartitions: 6 },
    { topic: `${run}.${t}.dlq`, numPartitions: 1 },
  ]),
);

// Recipients 1..RECIPIENTS, and user 100000 for the stream baseline, can reach workspace 3.
const kafka = new Kafka({
  clientId: 'bench-inbox',
  brokers: env.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer();
await producer.connect();
const users = [...Array.from({ length: RECIPIENTS }, (_, i) => i + 1), 100_000];
await producer.send({
  topic: `${run}.users.events`,
  acks: -1,
  messages: users.map((u) => {
    const value = JSON.stringify({
      specversion: '1.0',
      id: `${run}-a${u}`,
      source: '/users-service',
      type: 'io.activitysuite.user.access-changed',
      time: new Date().toISOString(),
      subject: String(u),
      datacontenttype: 'application/json',
      data: {
        userId: u,
        version: 1,
        workspaces: [{ workspaceId: WS, name: 'Three', role: 'member' }],
      },
    });
    return { key: String(u), value, headers: signOrigin(USERS_SERVICE_ORIGIN, originKey, value) };
  }),
});
await producer.disconnect();

const [activityPort, gatewayPort] = [await freePort(), await freePort()];
const activity = await startChild(
  'services/activity-service/src/main.ts',
  activityPort,
  '/readyz',
  serviceEnv,
);
const gateway = await startChild(
  'services/stream-gateway/src/main.ts',
  gatewayPort,
  '/readyz',
  serviceEnv,
);
while ((await redis.hexists(ProjectionKeys.access(`${run}:`, 100_000), String(WS))) === 0)
  await sleep(50);
const publisher = new ActivityPublisher({
  brokers: env.kafkaBrokers,
  topicPrefix: `${run}.`,
  lingerMs: 0,
});
await publisher.connect();

let n = 0;
const event = (owner: number, notify?: number[]) => ({
  specversion: '1.0' as const,
  id: `${run}-${++n}`,
  source: '/bench',
  type: 'io.activitysuite.activity.recorded' as const,
  time: new Date().toISOString(),
  subject: String(owner),
  data: {
    actorId: owner,
    verb: 'commented',
    object: { type: 'document', id: String(n) },
    workspaceId: WS,
    ...(notify ? { notify: { users: notify } } : {}),
  },
});
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[
    Math.min(values.length - 1, Math.floor((values.length * p) / 100))
  ]!;
const fmt = (ms: number) => ms.toFixed(1);

/** A device: a stream of `user` with the given channels, its messages handed to `onMessage`. */
async function device(
  user: number,
  channels: string,
  onMessage: (m: StreamMessage) => void,
): Promise<WebSocket> {
  const token = await signDevToken(secret, { sub: String(user), ttlSeconds: 3600 });
  const ws = new WebSocket(
    `ws://127.0.0.1:${gatewayPort}/api/v1/users/${user}/activity-stream?channels=${channels}`,
    { headers: { authorization: `Bearer ${token}` } },
  );
  let ready: () => void;
  const opened = new Promise<void>((r) => (ready = r));
  ws.on('message', (data) => {
    const message = StreamMessage.parse(JSON.parse(data.toString()));
    if (message.type === 'ready') ready();
    onMessage(message);
  });
  await opened;
  return ws;
}

// 1. Throughput: a burst, each activity naming one recipient.
const unreadSum = async () => {
  const p = redis.pipeline();
  for (let u = 1; u <= RECIPIENTS; u++) p.zcard(ProjectionKeys.inboxUnread(`${run}:`, u));
  return ((await p.exec()) ?? []).reduce((sum, [, v]) => sum + Number(v), 0);
};
const burst = Array.from({ length: BURST }, (_, i) =>
  event(100_001 + (i % 50), [1 + (i % RECIPIENTS)]),
);
const t0 = performance.now();
for (let i = 0; i < burst.length; i += 500) await publisher.publish(burst.slice(i, i + 500));
const published = performance.now() - t0;
while ((await unreadSum()) < BURST) await sleep(20);
const burstMs = performance.now() - t0;
const routerRate = Math.round((BURST / burstMs) * 1000);
out(
  `# inbox benchmark: ${BURST} notifying activities over ${RECIPIENTS} recipients; services in their own processes, load on the same machine`,
);
out(
  `burst: published in ${fmt(published)} ms, every delivery applied after ${fmt(burstMs)} ms: ${routerRate} deliveries/s end to end (router transaction + inbox apply)`,
);
// Where the burst's time went: the router's batches (routing and the transaction) and the inbox consumer's.
const metrics = await (await fetch(`http://127.0.0.1:${activityPort}/metrics`)).text();
/** A metric's value summed over its series (every service adds its own label), only those whose labels contain `having`. */
const metric = (name: string, having = '') =>
  metrics
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(having))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
const inboxTopic = `${run}.inbox.events`;
out(
  `burst: router ${metric('inbox_router_batch_duration_seconds_count')} batches, ${fmt(metric('inbox_router_batch_duration_seconds_sum') * 1000)} ms in them; ` +
    `inbox consumer ${metric('activity_batch_duration_seconds_count', `topic="${inboxTopic}"`)} batches, ${fmt(metric('activity_batch_duration_seconds_sum', `topic="${inboxTopic}"`) * 1000)} ms in them`,
);

// 2 and 3: one recipient with two devices; the baseline user's own stream.
const waiters = new Map<string, (at: number) => void>();
const waitFor = (key: string) => new Promise<number>((resolve) => waiters.set(key, resolve));
const arrived = (key: string) => {
  const done = waiters.get(key);
  waiters.delete(key);
  done?.(performance.now());
};
const recipient = 1;
await device(recipient, 'inbox', () => undefined);
await device(recipient, 'activity,inbox', (m) => {
  if (m.type === 'notification') arrived(`n:${m.notification.activity.id}`);
  if (m.type === 'inbox.state' && m.mark) arrived(`m:${m.mark.action}:${m.mark.ids?.[0]}`);
});
await device(100_000, 'activity', (m) => m.type === 'activity' && arrived(`a:${m.activity.id}`));
const userToken = await signDevToken(secret, { sub: String(recipient), ttlSeconds: 3600 });

const toInbox: number[] = [];
const toStream: number[] = [];
const markToDevice: number[] = [];
let lastId = '';
for (let i = 0; i < SAMPLES; i++) {
  // Baseline and inbox, alternating, one at a time.
  const plain = event(100_000);
  const seen = waitFor(`a:${plain.id}`);
  let start = performance.now();
  await publisher.publish(plain);
  toStream.push((await seen) - start);

  const notifying = event(100_001, [recipient]);
  const delivered = waitFor(`n:${notifying.id}`);
  start = performance.now();
  await publisher.publish(notifying);
  toInbox.push((await delivered) - start);
  lastId = notifying.id;
}
// The notification ids of the recipient, to mark read and unread in turn.
const page = (await (
  await fetch(`http://127.0.0.1:${activityPort}/api/v1/users/${recipient}/notifications?limit=1`, {
    headers: { authorization: `Bearer ${userToken}` },
  })
).json()) as { results: { id: string; activity: { id: string } }[] };
const id = page.results[0]!.id;
if (page.results[0]!.activity.id !== lastId)
  throw new Error('the newest notification is not the last one published');
for (let i = 0; i < SAMPLES; i++) {
  const action = i % 2 === 0 ? 'read' : 'unread';
  const told = waitFor(`m:${action}:${id}`);
  const start = performance.now();
  const res = await fetch(
    `http://127.0.0.1:${activityPort}/api/v1/users/${recipient}/notifications/${action}`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [id] }),
    },
  );
  if (res.status !== 200) throw new Error(`mark answered ${res.status}`);
  markToDevice.push((await told) - start);
}

out('');
out('| path | samples | p50 ms | p99 ms |');
out('|---|---|---|---|');
out(
  `| baseline: activity published -> its user's stream | ${SAMPLES} | ${fmt(percentile(toStream, 50))} | ${fmt(percentile(toStream, 99))} |`,
);
out(
  `| activity published -> notification on the recipient's device (router, transaction, inbox) | ${SAMPLES} | ${fmt(percentile(toInbox, 50))} | ${fmt(percentile(toInbox, 99))} |`,
);
out(
  `| mark on device A (HTTP) -> inbox.state on device B | ${SAMPLES} | ${fmt(percentile(markToDevice, 50))} | ${fmt(percentile(markToDevice, 99))} |`,
);

await publisher.close();
for (const child of [activity, gateway]) child.kill('SIGTERM');
redis.disconnect();
out(
  `RESULT mark_to_device_p99_ms=${fmt(percentile(markToDevice, 99))} publish_to_inbox_p99_ms=${fmt(percentile(toInbox, 99))} router_deliveries_per_s=${routerRate} activity_to_stream_p99_ms=${fmt(percentile(toStream, 99))}`,
);
process.exit(0);
