import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suiteCacheDir } from '@suite/config';
import { signDevToken } from '@suite/auth';
import type { ApiRouteName } from '@suite/contracts';
import { startActivityService } from '../services/activity-service/test/helpers.js';
import { startUsersService } from '../services/users-service/test/helpers.js';
import { createEdge } from './edge.js';

/** Schemathesis, pinned, in a virtualenv under the suite's cache (`.ci/run` creates it; a first run here does too). */
const SCHEMATHESIS_VERSION = '4.32.5';
const VENV = join(suiteCacheDir(process.env), `schemathesis-${SCHEMATHESIS_VERSION}`);
const CLI = join(VENV, 'bin', 'schemathesis');
/** The stream never ends, so it is left to the stream tests; every other operation is fuzzed. */
const STREAM_OPERATION: ApiRouteName = 'activityStream';
const secret = 'api-fuzz-test-secret-0123456789abcdefghijkl';
/** The fuzzer tests what the routes do, not the budgets (rate-limits.int.test.ts does): budgets it cannot spend. */
const UNLIMITED = Object.fromEntries(
  ['READ', 'SEARCH', 'WRITE', 'INGEST', 'STREAM'].map((c) => [
    `RATE_LIMIT_${c}_PER_MIN`,
    '1000000',
  ]),
);
/**
 * What a schema cannot state: an event's `time` must lie in a window around the request's arrival
 * (docs/activity-service.md), so a schema-valid event stamped in 2000 is refused with 400 by design.
 * POST /activities may therefore answer 400 to schema-valid data; every other check still applies.
 * Likewise an `If-Match` must name the user's current version, which no schema knows: PUT, PATCH
 * and DELETE of a user may answer 412 to a well-formed one. And schemathesis 4.32's coverage phase
 * sends header values that break the parameter's `pattern` (`If-Match: 0`) as if they were valid:
 * those three may answer 400 too.
 */
const CONFIG = `
[[operations]]
include-operation-id = "publishActivities"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
${['replaceUser', 'patchUser', 'deleteUser']
  .map(
    (id) => `
[[operations]]
include-operation-id = "${id}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "412", "429", "5xx"]
`,
  )
  .join('')}`;

async function ensureSchemathesis(): Promise<void> {
  if (existsSync(CLI)) return;
  const run = promisify(execFile);
  await run('python3', ['-m', 'venv', VENV]);
  await run(
    join(VENV, 'bin', 'pip'),
    ['install', '--quiet', `schemathesis==${SCHEMATHESIS_VERSION}`],
    { timeout: 300_000 },
  );
}

let users: Awaited<ReturnType<typeof startUsersService>>;
let activity: Awaited<ReturnType<typeof startActivityService>>;
let edge: Server;
let origin: string;
beforeAll(async () => {
  await ensureSchemathesis();
  [users, activity] = await Promise.all([
    startUsersService('fuzz', { JWT_SECRET: secret, ...UNLIMITED }),
    startActivityService('fuzz', { JWT_SECRET: secret, ...UNLIMITED }),
  ]);
  // One origin: the local edge itself, routing by the contracts' route table (the stream, excluded below, has no gateway here).
  const port = (url: string) => Number(new URL(url).port);
  edge = createEdge(
    {
      users: port(users.server.url),
      activity: port(activity.server.url),
      gateway: port(users.server.url),
    },
    () => undefined,
  );
  await new Promise<void>((ok) => edge.listen(0, '127.0.0.1', ok));
  origin = `http://127.0.0.1:${(edge.address() as AddressInfo).port}`;
}, 420_000);
afterAll(async () => {
  await new Promise((ok) => edge?.close(ok));
  await Promise.all([users?.service.stop(), activity?.stop()]);
});

describe('the API against its own description (schemathesis, every check)', () => {
  // Two seeds in every run (a seed found what another missed); FUZZ_SEEDS and FUZZ_EXAMPLES widen a run by hand.
  for (const seed of (process.env.FUZZ_SEEDS ?? '20261130,20261202').split(',')) {
    it(`finds no failure with seed ${seed}: no 500, no schema-valid request refused, no invalid one accepted, responses as documented`, async () => {
      const dir = join(tmpdir(), `api-fuzz-${process.pid}-${seed}`);
      mkdirSync(dir, { recursive: true });
      const document = join(dir, 'openapi.json');
      writeFileSync(document, await (await fetch(`${origin}/api/v1/openapi.json`)).text());
      // An admin that is no user: the fuzzer deletes and deactivates users, and a deleted user's tokens are refused.
      const token = await signDevToken(secret, {
        sub: 'api-fuzzer',
        roles: ['admin'],
        scopes: ['activity:write'],
      });
      const config = join(dir, 'schemathesis.toml');
      writeFileSync(config, CONFIG);
      const args = [
        '--config-file',
        config,
        'run',
        document,
        '--url',
        `${origin}/api/v1`,
        '--header',
        `Authorization: Bearer ${token}`,
        '--checks',
        'all',
        '--max-examples',
        process.env.FUZZ_EXAMPLES ?? '15',
        '--seed',
        seed,
        '--exclude-operation-id',
        STREAM_OPERATION,
        '--no-color',
      ];
      // Its working directory takes schemathesis's own cache (`.schemathesis/`), out of the repository.
      const child = spawn(CLI, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((ok) => child.on('exit', ok));
      writeFileSync(join(dir, 'schemathesis.log'), output);
      expect(output).toMatch(/\d+ generated/);
      // Every operation's logic was reached: no operation answered only 401/403, or mostly 429.
      expect(output).not.toMatch(/Authentication failed|429 Too Many Requests|rate limit/i);
      expect(
        code,
        `schemathesis failed (log: ${join(dir, 'schemathesis.log')}):\n${output.slice(-6000)}`,
      ).toBe(0);
    }, 300_000);
  }
});
