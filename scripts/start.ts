// `npm start`: local infrastructure, the three services, and one origin on 127.0.0.1:8080.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { devOriginKey, devSecret, devSecretPath, signDevToken } from '@suite/auth';
import { provisionedTopics } from '@suite/contracts';
import { infraUp, logDir, probeKafka, wantsRedisCluster } from '@suite/local-infra';
import { createEdge } from './edge.js';
import type { Upstream } from './edge-routes.js';

const EDGE_PORT = Number(process.env.EDGE_PORT ?? 8080);
const EDGE_HOST = process.env.EDGE_HOST ?? '127.0.0.1';
const root = resolve(import.meta.dirname, '..');

const services: Record<Upstream, { dir: string; port: number }> = {
  users: { dir: 'services/users-service', port: 3001 },
  activity: { dir: 'services/activity-service', port: 3002 },
  gateway: { dir: 'services/stream-gateway', port: 3003 },
};

const started = Date.now();
const fromEnv = process.env.KAFKA_BROKERS && process.env.MONGO_URL && process.env.REDIS_URL;
const topics = provisionedTopics();
let infra = {
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? '').split(','),
  mongoUrl: process.env.MONGO_URL ?? '',
  redisUrl: process.env.REDIS_URL ?? '',
};
if (fromEnv) {
  await probeKafka(infra.kafkaBrokers);
  console.log('using KAFKA_BROKERS, MONGO_URL and REDIS_URL from the environment');
} else {
  // Every prerequisite checked at once, with the one command that installs what is missing here.
  // As root on Debian/Ubuntu, what is missing is installed (the script says what); elsewhere it prints the one command.
  const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  const check = spawnSync(
    'bash',
    [resolve(root, 'infra/local/prerequisites.sh'), ...(canInstall ? ['--install-start'] : [])],
    { stdio: 'inherit' },
  );
  if (check.status !== 0) process.exit(1);
  console.log(
    'starting local infrastructure (first run downloads Kafka and builds FerretDB; later runs reuse them)...',
  );
  // `npm start -- --redis-cluster` (or SUITE_REDIS=cluster): the services on a local 3-primary Redis Cluster.
  const up = await infraUp(undefined, topics, { redisCluster: wantsRedisCluster() });
  for (const s of up.servers)
    console.log(`  ${s.reused ? 'reused ' : 'started'} ${s.name.padEnd(6)} ${s.url}  ${s.detail}`);
  infra = up;
}

const secret = process.env.JWT_SECRET ?? devSecret(devSecretPath(process.env));
// The users.events mark of origin: derived from the local signing secret unless given (docs/operations.md).
const originKey = process.env.USERS_EVENTS_SIGNING_KEY ?? devOriginKey(secret);
const children: ChildProcess[] = [];
let stopping = false;
for (const [name, svc] of Object.entries(services)) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
    cwd: resolve(root, svc.dir),
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      // A terminal: human-readable lines (LOG_FORMAT=json gives the production format).
      LOG_FORMAT: 'pretty',
      ...process.env,
      PORT: String(svc.port),
      HOST: '127.0.0.1',
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      MONGO_URL: infra.mongoUrl,
      REDIS_URL: infra.redisUrl,
      JWT_SECRET: secret,
      USERS_EVENTS_SIGNING_KEY: originKey,
    },
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the suite`);
      void shutdown(1);
    }
  });
  children.push(child);
}

const edge = createEdge(
  { users: services.users.port, activity: services.activity.port, gateway: services.gateway.port },
  (upstream, err) => console.error(`edge: ${upstream} did not answer (${err.message})`),
);
await new Promise<void>((ok) => edge.listen(EDGE_PORT, EDGE_HOST, ok));

// Wait until each service answers its health endpoint before announcing the suite.
for (const [name, svc] of Object.entries(services)) {
  let ok = false;
  for (let i = 0; i < 200 && !ok; i++) {
    ok = await fetch(`http://127.0.0.1:${svc.port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (!ok) await new Promise((r) => setTimeout(r, 150));
  }
  if (!ok) {
    console.error(
      `${name} did not answer http://127.0.0.1:${svc.port}/healthz within 30 s (its log is above); stopping the suite`,
    );
    await shutdown(1);
  }
}

// The /demo console for user 1, with a token to read and one to publish test activities (12 hours).
const consoleLink = `http://${EDGE_HOST}:${EDGE_PORT}/demo#user=1&token=${await signDevToken(secret, { sub: '1', ttlSeconds: 12 * 3600 })}&publisher=${await signDevToken(secret, { sub: 'demo', scopes: ['activity:write'], ttlSeconds: 12 * 3600 })}`;

console.log(`
Activity suite is up in ${((Date.now() - started) / 1000).toFixed(1)} s
  API (one origin)   http://${EDGE_HOST}:${EDGE_PORT}/api/v1
  users-service      http://127.0.0.1:${services.users.port}   (/healthz /readyz /metrics)
  activity-service   http://127.0.0.1:${services.activity.port}   (/healthz /readyz /metrics)
  stream-gateway     http://127.0.0.1:${services.gateway.port}   (/healthz /readyz /metrics)
  Kafka ${infra.kafkaBrokers.join(',')}   MongoDB ${infra.mongoUrl}   Redis ${infra.redisUrl}
  server logs        ${logDir}
  dev signing key    ${devSecretPath(process.env)}

Live console (user 1; the tokens ride in the fragment, which never reaches a server):
  ${consoleLink}

Get a token:  npm run token -- --sub 1 --role admin
Try:          curl -H "Authorization: Bearer $(npm run -s token -- --sub 1 --role admin)" http://${EDGE_HOST}:${EDGE_PORT}/api/v1/users
Ctrl-C stops the services (infrastructure keeps running; npm run infra:down stops it).
`);

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  edge.close();
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((done) => {
          if (c.exitCode !== null || c.signalCode !== null) return done();
          c.once('exit', () => done());
          c.kill('SIGTERM');
        }),
    ),
  );
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
