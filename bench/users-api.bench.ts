// Users API under a fixed concurrency, with two baselines in the same run: a hello-world route on
// the same Express stack, and a raw-driver findOne loop at the same concurrency.
//   npm run bench:users          (BENCH_USERS=100000, BENCH_SECONDS=10, BENCH_CONNECTIONS=10)
import autocannon from 'autocannon';
import { Router } from 'express';
import { MongoClient } from 'mongodb';
import { signDevToken } from '@suite/auth';
import { createLogger } from '@suite/logger';
import { infraUp } from '@suite/local-infra';
import { createHttpApp, createMetrics, listen, Readiness } from '@suite/server-kit';
import { createUsersService, loadUsersConfig, seedUsers } from '@suite/users-service';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const DB = process.env.BENCH_DB ?? `bench_users_${USERS}`;
const secret = 'bench-secret-bench-secret-bench-secret-00';
const out = (line: string) => process.stdout.write(`${line}\n`);

const env = process.env.MONGO_URL ? { mongoUrl: process.env.MONGO_URL, kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } : await infraUp();
const client = new MongoClient(env.mongoUrl);
/** The one bench token's budgets are checked on every request (in Redis, as in production) but never spent. */
const UNSPENT_BUDGETS = { RATE_LIMIT_READ_PER_MIN: '100000000', RATE_LIMIT_SEARCH_PER_MIN: '100000000' };
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
out(`# users API benchmark: ${USERS} users, ${CONNECTIONS} connections, ${SECONDS} s per case, MongoDB wire at ${env.mongoUrl}`);

const service = await createUsersService(
  loadUsersConfig({ MONGO_URL: env.mongoUrl, MONGO_DB: DB, KAFKA_BROKERS: env.kafkaBrokers.join(','), JWT_SECRET: secret, USERS_EVENTS_SIGNING_KEY: 'bench-origin-key-bench-origin-key-0000', LOG_LEVEL: 'silent', OUTBOX_RELAY_ENABLED: 'false', MONGO_QUERY_TIMEOUT_MS: '60000', REDIS_URL: env.redisUrl, ...UNSPENT_BUDGETS }),
);
await service.start();
const server = await service.listen(0, '127.0.0.1');
const hello = Router();
hello.get('/hello', (_req, res) => {
  res.json({ hello: 'world' });
});
const logger = createLogger({ service: 'bench', version: '0', level: 'silent' });
const helloServer = await listen(
  createHttpApp({ logger, metrics: createMetrics('bench'), readiness: new Readiness({}), api: [hello], routes: [], bodyLimit: '1kb', trustProxy: false }),
  0,
  '127.0.0.1',
);
const token = await signDevToken(secret, { sub: '1' });
const randomId = () => 1 + Math.floor(Math.random() * USERS);

async function load(name: string, url: string, path: () => string) {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (req) => ({ ...req, path: path() }) }],
  });
  const ok = result['2xx'];
  out(`${name.padEnd(34)} ${result.requests.average.toFixed(0).padStart(7)} req/s   p50 ${String(result.latency.p50).padStart(6)} ms   p99 ${String(result.latency.p99).padStart(6)} ms   2xx ${ok}  non-2xx ${result.non2xx}  errors ${result.errors}`);
  return result.requests.average;
}

async function rawFindOne(): Promise<number> {
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
  const rate = done / SECONDS;
  out(`${'baseline raw driver findOne'.padEnd(34)} ${rate.toFixed(0).padStart(7)} req/s   p50 ${latencies[Math.floor(latencies.length * 0.5)]!.toFixed(0).padStart(6)} ms   p99 ${latencies[Math.floor(latencies.length * 0.99)]!.toFixed(0).padStart(6)} ms`);
  return rate;
}

const helloRate = await load('baseline hello-world (same stack)', helloServer.url, () => '/api/v1/hello');
const rawRate = await rawFindOne();
const getRate = await load('GET /users/{id}', server.url, () => `/api/v1/users/${randomId()}`);
await load('GET /users?page=N', server.url, () => `/api/v1/users?page=${1 + Math.floor(Math.random() * Math.min(100, USERS / 20))}`);
const queries = ['user4242', 'ann7', 'last99', 'example', 'grace1', 'user9999'];
await load('GET /users/search?q=…', server.url, () => `/api/v1/users/search?q=${queries[Math.floor(Math.random() * queries.length)]}`);
const floor = Math.min(helloRate, rawRate);
out(`GET /users/{id} / min(baselines) = ${(getRate / floor).toFixed(2)}  (target >= 0.70); search p99 target <= 50 ms`);
await helloServer.close(1000);
await service.stop();
await client.close();
process.exit(0);
