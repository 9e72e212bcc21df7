import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '@suite/contracts';
import {
  call,
  eventually,
  isolate,
  runEntryPoint,
  startDisposable,
  testInfra,
  type DisposableServer,
  TEST_ORIGIN_KEY,
} from '@suite/testkit';
import { createUsersService, loadUsersConfig, type UsersService } from '@suite/users-service';
import type { RunningServer } from '@suite/server-kit';

const infra = testInfra();
const names = isolate('users-skel');
const secret = 'users-skeleton-test-secret-0123456789abcdef';

describe('users-service skeleton', () => {
  let service: UsersService;
  let server: RunningServer;
  beforeAll(async () => {
    const config = loadUsersConfig({
      MONGO_URL: infra.mongoUrl,
      MONGO_DB: names.dbName,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      JWT_SECRET: secret,
      USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
      LOG_LEVEL: 'silent',
      SHUTDOWN_GRACE_MS: '500',
    });
    service = await createUsersService(config);
    await service.start();
    server = await service.listen(0, '127.0.0.1');
  });
  afterAll(() => service.stop());

  it('when asked, then /healthz answers 200 and /readyz reports Mongo ready', async () => {
    expect((await call('GET', `${server.url}/healthz`)).status).toBe(200);
    const ready = await call('GET', `${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ready',
      checks: { mongo: { ok: true }, indexes: { ok: true } },
    });
  });

  it('when restarted on the same database, then it becomes ready again (existing indexes are left alone)', async () => {
    const again = await createUsersService(
      loadUsersConfig({
        MONGO_URL: infra.mongoUrl,
        MONGO_DB: names.dbName,
        KAFKA_BROKERS: infra.kafkaBrokers.join(','),
        JWT_SECRET: secret,
        USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
        LOG_LEVEL: 'silent',
        SHUTDOWN_GRACE_MS: '500',
        OUTBOX_RELAY_ENABLED: 'false',
      }),
    );
    await again.start();
    const second = await again.listen(0, '127.0.0.1');
    try {
      const ready = await call('GET', `${second.url}/readyz`);
      expect(ready.body).toMatchObject({ status: 'ready', checks: { indexes: { ok: true } } });
    } finally {
      await again.stop();
    }
  });

  it('when /metrics is scraped, then it has process metrics and the HTTP histogram', async () => {
    await call('GET', `${server.url}/healthz`);
    const metrics = await call('GET', `${server.url}/metrics`);
    expect(String(metrics.body)).toContain('process_cpu_user_seconds_total');
    expect(String(metrics.body)).toContain('http_request_duration_seconds_bucket');
  });

  it('when a users route is called without a token, then the answer is 401 in the error shape with a request id', async () => {
    const res = await call('GET', `${server.url}/api/v1/users`);
    expect(res.status).toBe(401);
    const body = ErrorBody.parse(res.body);
    expect(body.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('when started with a bad config value, then the process exits non-zero naming the variable', async () => {
    const result = await runEntryPoint(`${import.meta.dirname}/..`, 'src/main.ts', {
      PORT: 'not-a-port',
      JWT_SECRET: secret,
      USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('PORT');
  });
});

describe('users-service readiness', () => {
  let mongo: DisposableServer;
  let service: UsersService;
  let server: RunningServer;
  beforeAll(async () => {
    mongo = await startDisposable('mongo');
    service = await createUsersService(
      loadUsersConfig({
        MONGO_URL: mongo.url,
        JWT_SECRET: secret,
        USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
        LOG_LEVEL: 'silent',
        SHUTDOWN_GRACE_MS: '500',
      }),
    );
    await service.start();
    server = await service.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await service.stop();
    await mongo.destroy();
  });

  it('when MongoDB stops, then /readyz turns 503, and 200 again once it is back, without a restart', async () => {
    expect((await call('GET', `${server.url}/readyz`)).status).toBe(200);
    await mongo.stop();
    await eventually(
      async () => ((await call('GET', `${server.url}/readyz`)).status === 503 ? true : undefined),
      20_000,
    );
    await mongo.start();
    await eventually(
      async () => ((await call('GET', `${server.url}/readyz`)).status === 200 ? true : undefined),
      30_000,
    );
  });
});
