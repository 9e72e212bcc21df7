// The reads benchmark's stack hello: a hello route on the services' own HTTP stack (the shared
// Express app with tracing hooks, request ids, pino request logs, metrics; bearer-token auth with
// the revocation check; the read rate limit checked in Redis on an auto-pipelined connection),
// configured from the same environment, as a process of its own like the service it is compared
// with. BENCH_WITHOUT=auth|rateLimit|requestLog|metrics|tracing leaves that one layer out (the
// per-layer breakdown); nothing else ever does.
import { Router } from 'express';
import { authSettingsFrom, authenticate, createTokenVerifier } from '@suite/auth';
import { createLogger } from '@suite/logger';
import {
  createHttpApp,
  createMetrics,
  listen,
  rateLimit,
  rateLimitsFrom,
  Readiness,
  refusingRevoked,
  RevocationList,
} from '@suite/server-kit';
import { createRedis } from '@suite/redis';
import { loadActivityConfig } from '@suite/activity-service';

const config = loadActivityConfig(process.env);
const logger = createLogger({ service: 'hello', version: '0', level: config.LOG_LEVEL });
const without = process.env.BENCH_WITHOUT ?? '';
const router = Router();
const revocations = new RevocationList(
  createRedis(config.REDIS_URL, logger, 'hello-revocations'),
  createRedis(config.REDIS_URL, logger, 'hello-revocations-sub'),
  config.REDIS_KEY_PREFIX,
  logger,
);
await revocations.start();
const verifier = refusingRevoked(await createTokenVerifier(authSettingsFrom(config)), revocations);
router.use(
  ['/hello', '/hello-page'],
  ...(without === 'auth' ? [] : [authenticate(verifier)]),
  ...(without === 'rateLimit' ? [] : [rateLimit('read')]),
);
const redis = createRedis(config.REDIS_URL, logger, 'hello', {
  autoPipelining: true,
  commandTimeoutMs: 2000,
});
await redis.connect();
router.get('/hello', (_req, res) => {
  res.json({ hello: 'world' });
});
// A constant body the size of a feed page (20 activities): what the bytes alone cost.
const page = Buffer.from(
  JSON.stringify({
    results: Array.from({ length: 20 }, (_, i) => ({
      id: `hello-${i}`,
      userId: 1,
      time: new Date(0).toISOString(),
      source: '/bench',
      actorId: 1,
      verb: 'commented',
      object: { type: 'document', id: String(i) },
      workspaceId: 1,
      metadata: { excerpt: 'a short excerpt of what was said' },
    })),
    next: `http://127.0.0.1/api/v1/users/1/activities?limit=20&cursor=${'x'.repeat(40)}`,
  }),
);
router.get('/hello-page', (_req, res) => {
  res.type('json').end(page);
});
const app = createHttpApp({
  logger,
  metrics: createMetrics('hello'),
  readiness: new Readiness({}),
  api: [router],
  routes: [],
  bodyLimit: config.BODY_LIMIT,
  trustProxy: config.TRUST_PROXY,
  rateLimits: rateLimitsFrom(config, redis),
  without: (['requestLog', 'metrics', 'tracing'] as const).filter((layer) => layer === without),
});
await listen(app, config.PORT, config.HOST);
// Exit on SIGTERM the ordinary way (a CPU profile, when asked for, is written on exit).
process.on('SIGTERM', () => process.exit(0));
