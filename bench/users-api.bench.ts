// Users API at 100k users under a fixed concurrency, with two baselines in the same run: a hello
// route on the same HTTP stack (auth, request logs, the read budget checked in Redis), and a
// raw-driver findOne loop at the same concurrency (what one read costs the MongoDB-wire server
// itself). The service and the hello server run as processes of their own, like in production;
// the load generator shares the machine. Ends with issue 14's RESULT line.
//   npm run bench:users          (BENCH_USERS=100000, BENCH_SECONDS=10, BENCH_CONNECTIONS=10)
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { startChild } from './child.js';
import { MongoClient } from 'mongodb';
import { signDevToken } from '@suite/auth';
import { freePort, infraUp } from '@suite/local-infra';
import { seedUsers } from '@suite/users-service';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const DB = process.env.BENCH_DB ?? `bench_users_${USERS}`;
const secret = 'bench-secret-bench-secret-bench-secret-00';
const out = (line: string) => process.stdout.write(`${line}\n`);

const env = process.env.MONGO_URL
  ? { mongoUrl: process.env.MONGO_URL, kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }
  : await infraUp();
const client = new MongoClient(env.mongoUrl);
const db = client.db(DB);
const have = await db.collection('users').estimatedDocumentCount();
if (have < USERS) {
  const t0 = performance.now();
  const first = ['ann', 'bob', 'carla', 'dmitri', 'eve', 'farid', 'grace', 'hiro', 'ines', 'jon'];
  await seedUsers(db, USERS - have, (i) => {
    const n = have + i;
    return { username: `user${n}`, email: `user${n}@example.com`, firstName: `${first[n % first.length]}${n % 1000}`, lastName: `last${n % 9973}`, isActive: true, roles: [] };
  });
  out(`seeded ${USERS - have} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
out(`# users API benchmark: ${USERS} users, ${CONNECTIONS} connections, ${SECONDS} s per case, MongoDB wire at ${env.mongoUrl}, load generator on the same machine`);

const run = `users${Date.now()}`;
const serviceEnv = {
  PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info',
  MONGO_URL: env.mongoUrl, MONGO_DB: DB, REDIS_URL: env.redisUrl, REDIS_KEY_PREFIX: `${run}:`, KAFKA_BROKERS: env.kafkaBrokers.join(','), KAFKA_TOPIC_PREFIX: `${run}.`,
  JWT_SECRET: secret, USERS_EVENTS_SIGNING_KEY: 'bench-origin-key-bench-origin-key-0000',
  // The one bench token's budgets are checked on every request (in Redis, as in production) but never spent.
  RATE_LIMIT_READ_PER_MIN: '100000000', RATE_LIMIT_SEARCH_PER_MIN: '100000000',
};


const [usersPort, helloPort] = [await freePort(), await freePort()];
const t0 = performance.now();
// Ready once its directory holds every user.
const service = await startChild('services/users-service/src/main.ts', usersPort, '/readyz', serviceEnv, 300_000);
const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${service.pid}/status`, 'utf8'))?.[1] ?? 0);
out(`users-service ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (directory snapshot of ${USERS} users); resident memory ${(rss / 1024).toFixed(0)} MiB`);
const hello = await startChild('bench/reads/hello-server.ts', helloPort, '/healthz', serviceEnv);
const token = await signDevToken(secret, { sub: '1', ttlSeconds: 3600 });
const randomId = () => 1 + Math.floor(Math.random() * USERS);

async function load(name: string, port: number, path: () => string): Promise<{ rate: number; p99: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (req) => ({ ...req, path: path() }) }],
  });
  out(`${name.padEnd(34)} ${result.requests.average.toFixed(0).padStart(7)} req/s   p50 ${String(result.latency.p50).padStart(4)} ms   p99 ${String(result.latency.p99).padStart(4)} ms   2xx ${result['2xx']}  non-2xx ${result.non2xx}  errors ${result.errors}`);
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
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
  out(`${'baseline raw driver findOne'.padEnd(34)} ${(done / SECONDS).toFixed(0).padStart(7)} req/s   p50 ${at(0.5)} ms   p99 ${at(0.99)} ms`);
}

try {
  const helloRun = await load('baseline hello (same stack)', helloPort, () => '/api/v1/hello');
  await rawFindOne();
  const get = await load('GET /users/{id}', usersPort, () => `/api/v1/users/${randomId()}`);
  // Random pages across the whole directory, 20 users each.
  const list = await load('GET /users?page=N', usersPort, () => `/api/v1/users?page=${1 + Math.floor(Math.random() * (USERS / 20))}`);
  // Exact (a whole username or first name), prefix, substring, and substrings everyone's email contains.
  const queries = ['user4242', 'ann7', 'last99', 'ser42', 'grace1', 'example', 'r999', 'hiro', 'xample.co'];
  const search = await load('GET /users/search?q=…', usersPort, () => `/api/v1/users/search?q=${encodeURIComponent(queries[Math.floor(Math.random() * queries.length)]!)}`);
  out(`targets: get_rps >= 0.7 x hello_rps (now ${(get.rate / helloRun.rate).toFixed(2)}), get p99 <= 10 ms, list p99 <= 50 ms, search p99 <= 50 ms`);
  out(`RESULT get_rps=${get.rate.toFixed(0)} hello_rps=${helloRun.rate.toFixed(0)} get_p99_ms=${get.p99} list_p99_ms=${list.p99} search_p99_ms=${search.p99}`);
} finally {
  for (const proc of [service, hello]) proc.kill('SIGTERM');
  await client.close();
}
