import { describe, expect, it } from 'vitest';
import { freePort } from '@suite/local-infra';
import {
  call,
  createTestTopics,
  eventually,
  httpLoad,
  isolate,
  shutdownViolations,
  startChildService,
  testInfra,
  TEST_ORIGIN_KEY,
} from '@suite/testkit';
import { secret, tokens } from './helpers.js';

const infra = testInfra();

describe('graceful shutdown', () => {
  it('when SIGTERM comes under load, then requests in flight all answer without 5xx or reset, kept-alive clients are told to leave, and the exit is 0 in the grace period', async () => {
    const names = isolate('users-shutdown');
    await createTestTopics(infra, names.topicPrefix, { 'users.events': 3 });
    const env = {
      MONGO_URL: infra.mongoUrl,
      MONGO_DB: names.dbName,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      KAFKA_TOPIC_PREFIX: names.topicPrefix,
      JWT_SECRET: secret,
      USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
      LOG_LEVEL: 'warn',
      SHUTDOWN_GRACE_MS: '10000',
    };
    const child = await startChildService(
      `${import.meta.dirname}/..`,
      'src/main.ts',
      env,
      await freePort(),
    );
    await eventually(
      async () => ((await call('GET', `${child.url}/readyz`)).status === 200 ? true : undefined),
      30_000,
    );
    const admin = { authorization: `Bearer ${await tokens.admin()}` };
    // Writes (MongoDB + outbox) and reads, 16 at a time on kept-alive connections.
    const load = httpLoad(child.url, 16, (n) =>
      n % 3 === 0
        ? {
            method: 'POST',
            path: '/api/v1/users',
            headers: admin,
            body: JSON.stringify({
              username: `sd${n}`,
              email: `sd${n}@example.com`,
              firstName: 'S',
              lastName: 'D',
            }),
          }
        : { method: 'GET', path: '/api/v1/users?page_size=5', headers: admin },
    );
    await eventually(async () => (load.count() > 100 ? true : undefined), 30_000);
    const started = Date.now();
    const answeredBefore = load.count();
    load.signal();
    const exited = child.kill('SIGTERM');
    expect(await exited, child.output()).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const outcomes = await load.stop();
    expect(
      outcomes.filter((o) => o.sentBeforeSignal && o.status !== undefined && o.status < 300).length,
    ).toBeGreaterThan(50);
    expect(shutdownViolations(outcomes)).toEqual([]);
    // Kept-alive clients were never told to leave before the signal, and were told after it.
    expect(outcomes.slice(0, answeredBefore).some((o) => o.toldToLeave)).toBe(false);
    expect(outcomes.slice(answeredBefore).some((o) => o.toldToLeave)).toBe(true);
  }, 120_000);
});
