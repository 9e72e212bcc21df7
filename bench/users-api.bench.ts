// Users API at 100k (or BENCH_USERS=1000000) users under a fixed concurrency, on two replicas of
// the service, with two baselines in the same run: a hello route on the same HTTP stack (auth,
// request logs, the read budget checked in Redis), and a raw-driver findOne loop at the same
// concurrency (what one read costs the MongoDB-wire server itself). While the reads are measured,
// 200 user writes/s go to the two replicas in turn, and each write is looked for on the other
// replica until it shows (its visibility delay). The services and the hello server run as
// processes of their own, like in production; the load generator shares the machine. Ends with
// issue 25's RESULT line.
//   npm run bench:users   (BENCH_USERS=100000, BENCH_SECONDS=10, BENCH_CONNECTIONS=10, BENCH_WRITES_PER_S=200)
import autocannon from 'autocannon';
import { readdirSync, readFileSync } from 'node:fs';
import { startChild } from './child.js';
import { MongoClient } from 'mongodb';
import { signDevToken } from '@suite/auth';
import { ensureTopics, freePort, infraUp } from '@suite/local-infra';
import { createRedis } from '@suite/redis';
import { createLogger } from '@suite/logger';
import { buildDirectory, seedUsers } from '@suite/users-service';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const WRITES_PER_S = Number(process.env.BENCH_WRITES_PER_S ?? 200);
const DB = process.env.BENCH_DB ?? `bench_users_${USERS}`;
// The directory lives in Redis under the service's key prefix: one per seeded database, kept between runs.
const PREFIX = `${DB}:`;
const secret = 'bench-secret-bench-secret-bench-secret-00';
const out = (line: string) => process.stdout.write(`${line}\n`);

const env = process.env.MONGO_URL
  ? {
      mongoUrl: process.env.MONGO_URL,
      kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    }
  : await infraUp();
const client = new MongoClient(env.mongoUrl);
const db = client.db(DB);
const redis = createRedis(
  env.redisUrl,
  createLogger({ service: 'bench-users', version: '0', level: 'warn' }),
  'bench-users',
  { autoPipelining: true },
);
await redis.connect();
const usedMemory = async () =>
  Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
const have = await db.collection('users').estimatedDocumentCount();
if (have < USERS) {
  const t0 = performance.now();
  const first = ['ann', 'bob', 'carla', 'dmitri', 'eve', 'farid', 'grace', 'hiro', 'ines', 'jon'];
  const before = await usedMemory();
  await seedUsers(db, redis, PREFIX, USERS - have, (i) => {
    const n = have + i;
    return {
      username: `user${n}`,
      email: `user${n}@example.com`,
      firstName: `${first[n % first.length]}${n % 1000}`,
      lastName: `last${n % 9973}`,
      isActive: true,
      roles: [],
    };
  });
  out(
    `seeded ${USERS - have} users (MongoDB and the directory) in ${((performance.now() - t0) / 1000).toFixed(1)} s; Redis grew by ${(((await usedMemory()) - before) / 2 ** 20) | 0} MiB (${(((await usedMemory()) - before) / (USERS - have)).toFixed(0)} B per user)`,
  );
}
{
  const t0 = performance.now();
  const built = await buildDirectory(db, redis, PREFIX);
  if (built !== undefined)
    out(
      `directory built from a snapshot of ${built} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
}
out(
  `# users API benchmark: ${USERS} users, ${CONNECTIONS} connections, ${SECONDS} s per case, MongoDB wire at ${env.mongoUrl}, load generator on the same machine`,
);

const run = `users${Date.now()}`;
// The run's own users.events, which the relay publishes to and the directory follower reads.
await ensureTopics(env.kafkaBrokers, [{ topic: `${run}.users.events`, numPartitions: 3 }]);
// Outbox entries an interrupted earlier run left unpublished would be this run's relay's backlog.
await db
  .collection('users')
  .updateMany({ outboxPending: true }, { $set: { outboxPending: false }, $unset: { outbox: '' } });
const serviceEnv = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  MONGO_URL: env.mongoUrl,
  MONGO_DB: DB,
  REDIS_URL: env.redisUrl,
  REDIS_KEY_PREFIX: PREFIX,
  KAFKA_BROKERS: env.kafkaBrokers.join(','),
  KAFKA_TOPIC_PREFIX: `${run}.`,
  JWT_SECRET: secret,
  USERS_EVENTS_SIGNING_KEY: 'bench-origin-key-bench-origin-key-0000',
  // The one bench token's budgets are checked on every request (in Redis, as in production) but never spent.
  RATE_LIMIT_READ_PER_MIN: '100000000',
  RATE_LIMIT_SEARCH_PER_MIN: '100000000',
  RATE_LIMIT_WRITE_PER_MIN: '100000000',
};

// The replicas run with the heap cap the Helm chart gives users-service pods.
const replicaEnv = { ...serviceEnv, NODE_OPTIONS: '--max-old-space-size=192' };
const [usersPort, otherPort, helloPort] = [await freePort(), await freePort(), await freePort()];
const t0 = performance.now();
// Ready once its directory (in Redis, built above) answers.
const service = await startChild(
  'services/users-service/src/main.ts',
  usersPort,
  '/readyz',
  replicaEnv,
  300_000,
);
const readyS = (performance.now() - t0) / 1000;
// BENCH_RELAYS=1: only the first replica relays its outbox (how much the two relays cost each other).
const other = await startChild(
  'services/users-service/src/main.ts',
  otherPort,
  '/readyz',
  process.env.BENCH_RELAYS === '1' ? { ...replicaEnv, OUTBOX_RELAY_ENABLED: 'false' } : replicaEnv,
  300_000,
);
/** Resident memory now, and its peak, in MiB. */
const rssOf = (pid: number | undefined) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { now: kib('VmRSS'), peak: kib('VmHWM') };
};
out(
  `users-service ready in ${readyS.toFixed(1)} s with ${USERS} users; resident memory ${rssOf(service.pid).now.toFixed(0)} MiB (second replica ${rssOf(other.pid).now.toFixed(0)} MiB)`,
);
const hello = await startChild('bench/reads/hello-server.ts', helloPort, '/healthz', serviceEnv);
const token = await signDevToken(secret, { sub: '1', ttlSeconds: 3600 });
const admin = await signDevToken(secret, { sub: '1', roles: ['admin'], ttlSeconds: 3600 });
const randomId = () => 1 + Math.floor(Math.random() * USERS);

/**
 * PATCHes random users at `perSecond`, replica by replica in turn, until stopped; after each write
 * the other replica is read until it shows the new version: that delay is the write's visibility.
 */
function writeLoad(perSecond: number) {
  const ports = [usersPort, otherPort];
  const visible: number[] = [];
  let writes = 0;
  let failures = 0;
  let stopped = false;
  const started = performance.now();
  const one = async (n: number) => {
    const [from, to] = [ports[n % 2]!, ports[(n + 1) % 2]!];
    const id = randomId();
    const res = await fetch(`http://127.0.0.1:${from}/api/v1/users/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ lastName: `w${n}` }),
    });
    if (res.status !== 200) {
      failures++;
      return;
    }
    writes++;
    const etag = res.headers.get('etag');
    const written = performance.now();
    for (;;) {
      const seen = await fetch(`http://127.0.0.1:${to}/api/v1/users/${id}`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      const tag = seen.headers.get('etag');
      // A later write of the same user counts too.
      if (tag && Number(JSON.parse(tag)) >= Number(JSON.parse(etag!))) break;
      if (performance.now() - written > 10_000) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    visible.push(performance.now() - written);
  };
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    for (let n = 0; !stopped; n++) {
      const due = started + (n * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const p = one(n).catch(() => void failures++);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    await Promise.all(inFlight);
    visible.sort((a, b) => a - b);
    const seconds = (performance.now() - started) / 1000;
    return {
      rate: writes / seconds,
      failures,
      p99: visible[Math.floor(visible.length * 0.99)] ?? 0,
      max: visible.at(-1) ?? 0,
    };
  };
}

async function load(
  name: string,
  port: number,
  path: () => string,
): Promise<{ rate: number; p99: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (req) => ({ ...req, path: path() }) }],
  });
  out(
    `${name.padEnd(34)} ${result.requests.average.toFixed(0).padStart(7)} req/s   p50 ${String(result.latency.p50).padStart(4)} ms   p99 ${String(result.latency.p99).padStart(4)} ms   2xx ${result['2xx']}  non-2xx ${result.non2xx}  errors ${result.errors}`,
  );
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rate: result.requests.average, p99: result.latency.p99 };
}

async function rawFindOne(): Promise<void> {
  const users = db.collection('users');
  let done = 0;
  const latencies: number[] = [];
  const deadline = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < deadline) {
        const t = performance.now();
        await users.findOne({ _id: randomId() } as never);
        latencies.push(performance.now() - t);
        done += 1;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.floor(latencies.length * q)]!.toFixed(0).padStart(4);
  out(
    `${'baseline raw driver findOne'.padEnd(34)} ${(done / SECONDS).toFixed(0).padStart(7)} req/s   p50 ${at(0.5)} ms   p99 ${at(0.99)} ms`,
  );
}

/** CPU seconds used so far by the processes whose command line matches `pattern`. */
function cpuOf(pattern: RegExp): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!pattern.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100;
}
const parts: [string, RegExp][] = [
  ['replicas', /users-service\/src\/main\.ts/],
  ['ferretdb', /ferretdb/],
  ['postgres', /^postgres/],
  ['redis', /redis-server/],
  ['kafka', /kafka\.Kafka|kafka_2/],
];

try {
  if (WRITES_PER_S > 0) {
    // The writes alone first: what one costs each part, in CPU.
    const before = parts.map(([, re]) => cpuOf(re));
    const stop = writeLoad(WRITES_PER_S);
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const alone = await stop();
    const spent = parts.map(
      ([name, re], i) =>
        `${name} ${(((cpuOf(re) - before[i]!) / (alone.rate * SECONDS)) * 1e6).toFixed(0)} µs`,
    );
    out(
      `writes alone: ${alone.rate.toFixed(0)} writes/s, visible p99 ${alone.p99.toFixed(1)} ms; CPU per write (with its visibility reads): ${spent.join(', ')}`,
    );
  }
  const helloRun = await load('baseline hello (same stack)', helloPort, () => '/api/v1/hello');
  await rawFindOne();
  const stopWrites =
    WRITES_PER_S > 0
      ? writeLoad(WRITES_PER_S)
      : async () => ({ rate: 0, failures: 0, p99: 0, max: 0 });
  const get = await load('GET /users/{id}', usersPort, () => `/api/v1/users/${randomId()}`);
  // Random pages across the whole directory, 20 users each.
  const list = await load(
    'GET /users?page=N',
    usersPort,
    () => `/api/v1/users?page=${1 + Math.floor(Math.random() * (USERS / 20))}`,
  );
  // Exact (a whole username or first name), prefix, substring, and substrings everyone's email contains.
  const queries = [
    'user4242',
    'ann7',
    'last99',
    'ser42',
    'grace1',
    'example',
    'r999',
    'hiro',
    'xample.co',
  ];
  const search = await load(
    'GET /users/search?q=…',
    usersPort,
    () =>
      `/api/v1/users/search?q=${encodeURIComponent(queries[Math.floor(Math.random() * queries.length)]!)}`,
  );
  const writes = await stopWrites();
  out(
    `${'writes (PATCH, two replicas in turn)'.padEnd(34)} ${writes.rate.toFixed(0).padStart(7)} writes/s during the reads, ${writes.failures} failed; visible on the other replica: p99 ${writes.p99.toFixed(1)} ms, max ${writes.max.toFixed(1)} ms`,
  );
  const rss = Math.max(rssOf(service.pid).peak, rssOf(other.pid).peak);
  out(
    `peak resident memory of the replicas: ${rssOf(service.pid).peak.toFixed(0)} and ${rssOf(other.pid).peak.toFixed(0)} MiB`,
  );
  out(
    `targets: get_rps >= 0.7 x hello_rps (now ${(get.rate / helloRun.rate).toFixed(2)}), get p99 <= 10 ms, list p99 <= 50 ms, search p99 <= 50 ms, ${WRITES_PER_S} writes/s visible p99 <= 1000 ms, rss <= 300 MiB, ready <= 10 s`,
  );
  out(
    `RESULT get_rps=${get.rate.toFixed(0)} hello_rps=${helloRun.rate.toFixed(0)} get_p99_ms=${get.p99} list_p99_ms=${list.p99} search_p99_ms=${search.p99} write_rps=${writes.rate.toFixed(0)} visible_p99_ms=${writes.p99.toFixed(0)} rss_mib=${rss.toFixed(0)} ready_s=${readyS.toFixed(1)}`,
  );
} finally {
  for (const proc of [service, other, hello]) proc.kill('SIGTERM');
  await client.close();
  redis.disconnect();
}
