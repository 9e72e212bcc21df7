import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '@suite/contracts';
import {
  call,
  createTestTopics,
  eventually,
  isolate,
  runEntryPoint,
  startDisposable,
  testInfra,
  type DisposableServer,
  TEST_ORIGIN_KEY,
} from '@suite/testkit';
import {
  createActivityService,
  loadActivityConfig,
  type ActivityService,
} from '@suite/activity-service';
import type { RunningServer } from '@suite/server-kit';

const infra = testInfra();
const names = isolate('activity-skel');
const secret = 'activity-skeleton-test-secret-0123456789abcdef';

describe('activity-service skeleton', () => {
  let service: ActivityService;
  let server: RunningServer;
  beforeAll(async () => {
    await createTestTopics(infra, names.topicPrefix, { 'activity.events': 3, 'users.events': 2 });
    service = await createActivityService(
      loadActivityConfig({
        REDIS_URL: infra.redisUrl,
        REDIS_KEY_PREFIX: names.keyPrefix,
        KAFKA_BROKERS: infra.kafkaBrokers.join(','),
        KAFKA_TOPIC_PREFIX: names.topicPrefix,
        JWT_SECRET: secret,
        USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
        LOG_LEVEL: 'silent',
        SHUTDOWN_GRACE_MS: '500',
      }),
    );
    await service.start();
    server = await service.listen(0, '127.0.0.1');
  });
  afterAll(() => service.stop());

  it('when asked, then /readyz reports Kafka, Redis and the joined consumer ready', async () => {
    const ready = await eventually(async () => {
      const res = await call('GET', `${server.url}/readyz`);
      return res.status === 200 ? res : undefined;
    }, 30_000);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ready',
      checks: { kafka: { ok: true }, redis: { ok: true }, consumer: { ok: true } },
    });
  });

  it('when activity routes are called without a token, then the answer is 401 in the error shape', async () => {
    for (const path of [
      '/api/v1/users/1/activities',
      '/api/v1/users/1/activity-count',
      '/api/v1/users/1/active-workspaces',
    ]) {
      const res = await call('GET', `${server.url}${path}`);
      expect(res.status).toBe(401);
      expect(ErrorBody.parse(res.body).error.code).toBe('unauthorized');
    }
    expect((await call('POST', `${server.url}/api/v1/activities`, { body: {} })).status).toBe(401);
  });

  it('when started with a bad config value, then the process exits non-zero naming the variable', async () => {
    const result = await runEntryPoint(`${import.meta.dirname}/..`, 'src/main.ts', {
      SHUTDOWN_GRACE_MS: '-5',
      JWT_SECRET: secret,
      USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('SHUTDOWN_GRACE_MS');
  });
});

describe('activity-service readiness', () => {
  let redis: DisposableServer;
  let kafka: DisposableServer;
  let service: ActivityService;
  let server: RunningServer;
  beforeAll(async () => {
    [redis, kafka] = await Promise.all([startDisposable('redis'), startDisposable('kafka')]);
    service = await createActivityService(
      loadActivityConfig({
        REDIS_URL: redis.url,
        KAFKA_BROKERS: kafka.url,
        JWT_SECRET: secret,
        USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
        LOG_LEVEL: 'silent',
        SHUTDOWN_GRACE_MS: '500',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
      }),
    );
    await service.start();
    server = await service.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await service.stop();
    await Promise.all([redis.destroy(), kafka.destroy()]);
  });

  const status = async () => (await call('GET', `${server.url}/readyz`)).status;
  const becomes = (code: number, timeoutMs: number) =>
    eventually(async () => ((await status()) === code ? true : undefined), timeoutMs, 250);

  it('when Redis stops, then /readyz turns 503, and 200 again once it is back (its projections rebuilt: this Redis keeps nothing)', async () => {
    await becomes(200, 30_000);
    await redis.stop();
    await becomes(503, 20_000);
    await redis.start();
    await becomes(200, 30_000);
  });

  it('when Kafka stops, then /readyz turns 503, and 200 again once it is back', async () => {
    await becomes(200, 30_000);
    await kafka.stop();
    await becomes(503, 30_000);
    await kafka.start();
    await becomes(200, 90_000);
  });
});
