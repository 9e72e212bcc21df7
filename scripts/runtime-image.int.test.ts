import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@suite/local-infra';
import { TEST_ORIGIN_KEY, createTestTopics, eventually, isolate, testInfra } from '@suite/testkit';

/**
 * Each image's runtime stage laid out as the Dockerfile does (infra/image/runtime-layout.mjs on a
 * build), without Docker: started from a read-only tree on production dependencies only.
 */
const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const SERVICES = ['users-service', 'activity-service', 'stream-gateway'] as const;
/** Never in a runtime tree: test runners and harnesses, build tools, the local provisioning. */
const DEV_ONLY = [
  'vitest',
  'testcontainers',
  'typescript',
  'esbuild',
  'tsx',
  'playwright-core',
  'pino-pretty',
  'turbo',
  '@suite/testkit',
  '@suite/local-infra',
];
const secret = 'runtime-image-test-secret-0123456789abcdef';

const laidOut = new Map<string, string>();
const children: ChildProcess[] = [];
beforeAll(async () => {
  await run(
    'npx',
    [
      'turbo',
      'run',
      'build',
      ...SERVICES.map((s) => `--filter=@suite/${s}`),
      '--output-logs=errors-only',
    ],
    { cwd: root, timeout: 300_000 },
  );
  for (const service of SERVICES) {
    const out = join(mkdtempSync(join(tmpdir(), `runtime-${service}-`)), 'app');
    await run(
      process.execPath,
      [join(root, 'infra/image/runtime-layout.mjs'), service, root, out],
      { cwd: root, timeout: 300_000 },
    );
    laidOut.set(service, out);
  }
}, 600_000);
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const out of laidOut.values()) {
    await run('chmod', ['-R', 'u+w', out]);
    rmSync(join(out, '..'), { recursive: true, force: true });
  }
});

async function environment(service: (typeof SERVICES)[number]): Promise<Record<string, string>> {
  const infra = testInfra();
  const names = isolate(`image-${service}`);
  await createTestTopics(infra, names.topicPrefix, { 'activity.events': 1, 'users.events': 1 });
  return {
    JWT_SECRET: secret,
    USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
    REDIS_URL: infra.redisUrl,
    REDIS_KEY_PREFIX: names.keyPrefix,
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: names.dbName,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: names.topicPrefix,
    KAFKA_GROUP_ID: `${names.id}-g`,
  };
}

describe('the runtime images, laid out as the Dockerfile does', () => {
  for (const service of SERVICES) {
    it(`${service}: holds only production dependencies and starts ready from a read-only tree`, async () => {
      const out = laidOut.get(service)!;
      const present = DEV_ONLY.filter((name) => existsSync(join(out, 'node_modules', name)));
      expect(present, `dev tooling in the ${service} runtime`).toEqual([]);
      expect(existsSync(join(out, 'services', service, 'src'))).toBe(false);
      const { stdout } = await run('du', ['-sk', join(out, 'node_modules')]);
      console.log(
        `${service} runtime node_modules: ${(Number(stdout.split('\t')[0]) / 1024).toFixed(1)} MiB`,
      );

      await run('chmod', ['-R', 'a-w', out]);
      const port = await freePort();
      const child = spawn(
        process.execPath,
        ['--disable-warning=TimeoutNegativeWarning', `services/${service}/dist/main.js`],
        {
          cwd: out,
          env: {
            PATH: process.env.PATH ?? '',
            NODE_ENV: 'production',
            TMPDIR: tmpdir(),
            HOST: '127.0.0.1',
            PORT: String(port),
            LOG_LEVEL: 'warn',
            ...(await environment(service)),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      children.push(child);
      let output = '';
      child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
      const url = `http://127.0.0.1:${port}`;
      await eventually(
        async () => {
          if (child.exitCode !== null) throw new Error(`${service} exited: ${output}`);
          return (await fetch(`${url}/readyz`).then(
            (r) => r.status,
            () => 0,
          )) === 200
            ? true
            : undefined;
        },
        60_000,
        200,
      );
      if (service === 'stream-gateway') {
        for (const path of ['/demo', '/demo/stream-client.js', '/demo/console.js'])
          expect((await fetch(`${url}${path}`)).status, path).toBe(200);
      }
      child.kill('SIGTERM');
      await new Promise((ok) => child.once('exit', ok));
      expect(output).not.toMatch(/"level":50|TimeoutNegativeWarning/);
    }, 120_000);
  }
});
