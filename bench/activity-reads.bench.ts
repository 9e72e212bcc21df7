// Reads of the projections against baselines that do not move with the stack, in one run with
// rotating rounds: a bare node:http hello, a bare Express hello, the stack's hello (auth with the
// revocation check, rate limit in Redis, request log, metrics, tracing hooks), each stack layer
// left out once (the per-layer breakdown), the activity count, a feed page of 20, a feed page
// filtered by workspace; then stream handshakes (connect, auth, seat, ready, close) and stream
// replays of 100 activities through the gateway.
//   npm run bench:reads      (BENCH_SECONDS=5 per case and round, BENCH_ROUNDS=3, BENCH_CONNECTIONS=10, BENCH_USERS=500, 200 activities each)
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { startChild } from './child.js';
import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import WebSocket from 'ws';
import { ProjectionKeys, StatsField, StreamMessage, encodeStreamCursor } from '@suite/contracts';
import { signDevToken } from '@suite/auth';
import { ensureTopics, freePort, infraUp } from '@suite/local-infra';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const USERS = Number(process.env.BENCH_USERS ?? 500);
const PER_USER = 200;
const REPLAY = 100;
const secret = 'bench-secret-bench-secret-bench-secret-00';
const run = `reads${Date.now()}`;
const out = (line: string) => process.stdout.write(`${line}\n`);

const env =
  process.env.KAFKA_BROKERS && process.env.REDIS_URL
    ? { kafkaBrokers: process.env.KAFKA_BROKERS.split(','), redisUrl: process.env.REDIS_URL }
    : await infraUp();
const redis = new Redis(env.redisUrl);
const kafka = new Kafka({
  clientId: 'bench-reads',
  brokers: env.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});
const serviceEnv = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  REDIS_URL: env.redisUrl,
  REDIS_KEY_PREFIX: `${run}:`,
  KAFKA_BROKERS: env.kafkaBrokers.join(','),
  KAFKA_TOPIC_PREFIX: `${run}.`,
  KAFKA_GROUP_ID: `${run}-projector`,
  JWT_SECRET: secret,
  USERS_EVENTS_SIGNING_KEY: 'bench-origin-key-bench-origin-key-0000',
  LOG_LEVEL: 'info',
  HOST: '127.0.0.1',
  // The one bench token's budget is checked on every request (in Redis, as in production) but never spent.
  RATE_LIMIT_READ_PER_MIN: '100000000',
  RATE_LIMIT_STREAM_PER_MIN: '100000000',
};

// Activities for every user, through Kafka, applied by the real consumer.
const topic = `${run}.activity.events`;
await ensureTopics(env.kafkaBrokers, [
  { topic, numPartitions: 6 },
  { topic: `${topic}.dlq`, numPartitions: 1 },
  { topic: `${run}.users.events`, numPartitions: 1 },
]);
const producer = kafka.producer({
  idempotent: true,
  maxInFlightRequests: 1,
  createPartitioner: Partitioners.DefaultPartitioner,
});
await producer.connect();
// Ten days ago: inside the accepted event-time window (EVENT_MAX_AGE_S) around the records' timestamps.
const base = Date.now() - 10 * 86_400_000;
for (let i = 0; i < USERS * PER_USER; i += 10_000) {
  const messages = [];
  for (let j = i; j < Math.min(USERS * PER_USER, i + 10_000); j++) {
    const user = 1 + (j % USERS);
    messages.push({
      key: String(user),
      value: `{"specversion":"1.0","id":"${run}-${j}","source":"/bench","type":"io.activitysuite.activity.recorded","time":"${new Date(base + j * 1000).toISOString()}","subject":"${user}","data":{"actorId":${user},"verb":"commented","object":{"type":"document","id":"${j % 997}"},"workspaceId":${1 + (j % 7)},"metadata":{"excerpt":"a short excerpt of what was said"}}}`,
    });
  }
  await producer.send({ topic, acks: -1, messages });
}
await producer.disconnect();

const [activityPort, helloPort, gatewayPort] = [
  await freePort(),
  await freePort(),
  await freePort(),
];
const t0 = performance.now();
// Ready once it has built the projections from the log.
const activity = await startChild(
  'services/activity-service/src/main.ts',
  activityPort,
  '/readyz',
  serviceEnv,
);
out(
  `# reads benchmark: ${USERS} users x ${PER_USER} activities (built in ${((performance.now() - t0) / 1000).toFixed(1)} s), ${CONNECTIONS} connections, ${SECONDS} s per case, load generator on the same machine`,
);
const hello = await startChild('bench/reads/hello-server.ts', helloPort, '/healthz', serviceEnv);
const [nodePort, expressPort] = [await freePort(), await freePort()];
const bareNode = await startChild('bench/reads/bare-server.ts', nodePort, '/healthz', {
  ...serviceEnv,
  BARE: 'node',
});
const bareExpress = await startChild('bench/reads/bare-server.ts', expressPort, '/healthz', {
  ...serviceEnv,
  BARE: 'express',
});
const LAYERS = ['auth', 'rateLimit', 'requestLog', 'metrics', 'tracing'] as const;
const layerOff = new Map<
  string,
  { port: number; pid: number; kill: (s: NodeJS.Signals) => boolean }
>();
if (process.env.BENCH_LAYERS !== '0') {
  for (const layer of LAYERS) {
    const port = await freePort();
    const child = await startChild('bench/reads/hello-server.ts', port, '/healthz', {
      ...serviceEnv,
      BENCH_WITHOUT: layer,
    });
    layerOff.set(layer, { port, pid: child.pid!, kill: (sig) => child.kill(sig) });
  }
}
const gateway = await startChild(
  'services/stream-gateway/src/main.ts',
  gatewayPort,
  '/readyz',
  serviceEnv,
);
const token = await signDevToken(secret, { sub: '1', roles: ['admin'], ttlSeconds: 3600 });
const user = () => 1 + Math.floor(Math.random() * USERS);

/** CPU seconds a process has used (user + system, from /proc; clock ticks are 1/100 s). */
function processCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(stat[11]) + Number(stat[12])) / 100;
}

/** Redis's CPU seconds, from INFO. */
async function redisCpu(): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

/** Runs autocannon against one route; prints req/s, latency, and CPU per request of the server, Redis and the load generator. */
/** Server CPU per request (µs) per case and round, for the per-layer breakdown. */
const cpuUs = new Map<string, number[]>();

async function load(name: string, port: number, pid: number, path: () => string): Promise<number> {
  const [server0, redis0, self0] = [processCpu(pid), await redisCpu(), process.cpuUsage()];
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (req) => ({ ...req, path: path() }) }],
  });
  const requests = result.requests.total;
  const us = (seconds: number) => ((seconds * 1e6) / requests).toFixed(0).padStart(4);
  const self = process.cpuUsage(self0);
  cpuUs.set(name, [...(cpuUs.get(name) ?? []), ((processCpu(pid) - server0) * 1e6) / requests]);
  const cpu = `cpu/request: server ${us(processCpu(pid) - server0)} us, redis ${us((await redisCpu()) - redis0)} us, load generator ${us((self.user + self.system) / 1e6)} us`;
  out(
    `${name.padEnd(46)} ${result.requests.average.toFixed(0).padStart(6)} req/s  p50 ${String(result.latency.p50).padStart(2)} ms  p99 ${String(result.latency.p99).padStart(3)} ms  ${cpu}  ${(result.throughput.average / result.requests.average / 1024).toFixed(1)} KiB/answer`,
  );
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result.requests.average;
}

/** Stream opens: connect with a cursor `back` positions behind the head, read until `ready`, close; CONNECTIONS at a time. */
async function replays(back: number): Promise<number> {
  const heads = new Map<number, { epoch: string; position: number }>();
  for (let u = 1; u <= USERS; u++) {
    const [epoch, position] = await redis.hmget(
      ProjectionKeys.stats(`${run}:`, u),
      StatsField.epoch,
      StatsField.position,
    );
    heads.set(u, { epoch: epoch!, position: Number(position) });
  }
  const latencies: number[] = [];
  const deadline = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < deadline) {
        const u = user();
        const head = heads.get(u)!;
        const started = performance.now();
        const got = await new Promise<number>((resolve, reject) => {
          const ws = new WebSocket(
            `ws://127.0.0.1:${gatewayPort}/api/v1/users/${u}/activity-stream?cursor=${encodeStreamCursor(head.epoch, head.position - back)}`,
            { headers: { authorization: `Bearer ${token}` } },
          );
          let activities = 0;
          ws.on('message', (data) => {
            const message = StreamMessage.parse(JSON.parse(data.toString()));
            if (message.type === 'activity') activities++;
            if (message.type === 'ready') {
              ws.close();
              resolve(activities);
            }
          });
          ws.on('error', reject);
        });
        if (got !== back) throw new Error(`replay delivered ${got} activities, expected ${back}`);
        latencies.push(performance.now() - started);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const rate = latencies.length / SECONDS;
  const what =
    back === 0
      ? 'stream handshake (connect, auth, seat, ready, close)'
      : `stream replay of ${back} (connect, replay, ready)`;
  out(
    `${what.padEnd(52)} ${rate.toFixed(0).padStart(7)} opens/s   p50 ${latencies[Math.floor(latencies.length / 2)]!.toFixed(0).padStart(4)} ms   p99 ${latencies[Math.floor(latencies.length * 0.99)]!.toFixed(0).padStart(4)} ms`,
  );
  return rate;
}

// Rounds in rotating order; each case's result is the median of its rounds (this machine's noise is ±10%).
const cases: [string, number, number, () => string][] = [
  ['bare node:http hello', nodePort, bareNode.pid!, () => '/api/v1/hello'],
  ['bare Express hello (res.json)', expressPort, bareExpress.pid!, () => '/api/v1/hello'],
  ['stack hello (auth, rate limit, log, metrics)', helloPort, hello.pid!, () => '/api/v1/hello'],
  ...[...layerOff].map(
    ([layer, p]) =>
      [`stack hello without ${layer}`, p.port, p.pid, () => '/api/v1/hello'] as [
        string,
        number,
        number,
        () => string,
      ],
  ),
  ['baseline hello, feed-sized constant body', helloPort, hello.pid!, () => '/api/v1/hello-page'],
  [
    'GET /users/{id}/activity-count',
    activityPort,
    activity.pid!,
    () => `/api/v1/users/${user()}/activity-count`,
  ],
  [
    'GET /users/{id}/activities?limit=20',
    activityPort,
    activity.pid!,
    () => `/api/v1/users/${user()}/activities?limit=20`,
  ],
  [
    'GET /users/{id}/activities?limit=20&workspaceId',
    activityPort,
    activity.pid!,
    () =>
      `/api/v1/users/${user()}/activities?limit=20&workspaceId=${1 + Math.floor(Math.random() * 7)}`,
  ],
];
// BENCH_CASES=activity-count,limit=20 runs only the cases whose names end with one of them (with the three baselines).
const wanted = process.env.BENCH_CASES?.split(',');
if (wanted)
  cases.splice(
    0,
    cases.length,
    ...cases.filter(([name], i) => i < 3 || wanted.some((w) => name.endsWith(w))),
  );
const rates = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  out(`round ${round + 1} of ${ROUNDS}`);
  for (let i = 0; i < cases.length; i++) {
    const [name, port, pid, path] = cases[(i + round) % cases.length]!;
    rates.get(name)!.push(await load(name, port, pid, path));
  }
}
const median = (name: string) => {
  const sorted = [...rates.get(name)!].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
out('median req/s over the rounds:');
for (const [name] of cases)
  out(
    `  ${name.padEnd(46)} ${median(name).toFixed(0).padStart(6)}   (${rates
      .get(name)!
      .map((r) => r.toFixed(0))
      .join(' / ')})`,
  );
const rateOf = (name: string) => (rates.has(name) ? median(name) : NaN);
const [nodeRps, expressRps, helloRps, countRps, feedRps] = [
  rateOf('bare node:http hello'),
  rateOf('bare Express hello (res.json)'),
  rateOf('stack hello (auth, rate limit, log, metrics)'),
  rateOf('GET /users/{id}/activity-count'),
  rateOf('GET /users/{id}/activities?limit=20'),
];
if (layerOff.size > 0) {
  const cpuOf = (name: string) =>
    [...cpuUs.get(name)!].sort((a, b) => a - b)[Math.floor(cpuUs.get(name)!.length / 2)]!;
  const stack = cpuOf('stack hello (auth, rate limit, log, metrics)');
  out(
    `per-layer breakdown: server CPU per request, median over the rounds (stack hello ${stack.toFixed(0)} us; bare Express ${cpuOf('bare Express hello (res.json)').toFixed(0)} us; bare node ${cpuOf('bare node:http hello').toFixed(0)} us):`,
  );
  for (const layer of LAYERS) {
    const name = `stack hello without ${layer}`;
    if (!cpuUs.has(name)) continue;
    out(
      `  ${layer.padEnd(12)} ${(stack - cpuOf(name)).toFixed(0).padStart(5)} us per request  (without it: ${cpuOf(name).toFixed(0)} us, ${rateOf(name).toFixed(0)} req/s)`,
    );
  }
}
await replays(0);
await replays(REPLAY);
out(
  `stack hello / Express = ${(helloRps / expressRps).toFixed(2)} (target >= 0.50); count / Express = ${(countRps / expressRps).toFixed(2)} (target >= 0.40); feed page / Express = ${(feedRps / expressRps).toFixed(2)} (target >= 0.35)`,
);

for (const proc of [activity, hello, gateway, bareNode, bareExpress]) proc.kill('SIGTERM');
for (const p of layerOff.values()) p.kill('SIGTERM');
for (let cursor = '0'; ;) {
  const [next, keys] = await redis.scan(cursor, 'MATCH', `${run}:*`, 'COUNT', 1000);
  if (keys.length > 0) await redis.unlink(...keys);
  if (next === '0') break;
  cursor = next;
}
const admin = kafka.admin();
await admin.connect();
await admin
  .deleteTopics({ topics: [topic, `${topic}.dlq`, `${run}.users.events`] })
  .catch(() => undefined);
await admin.disconnect();
redis.disconnect();
out(
  `RESULT node_rps=${Math.round(nodeRps)} express_rps=${Math.round(expressRps)} hello_rps=${Math.round(helloRps)} count_rps=${Math.round(countRps)} feed_rps=${Math.round(feedRps)}`,
);
process.exit(0);
