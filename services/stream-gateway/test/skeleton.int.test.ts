import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '@suite/contracts';
import {
  call,
  eventually,
  runEntryPoint,
  startChildService,
  startDisposable,
  testInfra,
  type DisposableServer,
} from '@suite/testkit';
import { freePort } from '@suite/local-infra';
import {
  createGatewayService,
  loadGatewayConfig,
  type GatewayService,
} from '@suite/stream-gateway';
import type { RunningServer } from '@suite/server-kit';

const infra = testInfra();
const secret = 'gateway-skeleton-test-secret-0123456789abcdef';

describe('stream-gateway skeleton', () => {
  let service: GatewayService;
  let server: RunningServer;
  beforeAll(async () => {
    service = await createGatewayService(
      loadGatewayConfig({
        REDIS_URL: infra.redisUrl,
        JWT_SECRET: secret,
        LOG_LEVEL: 'silent',
        SHUTDOWN_GRACE_MS: '500',
      }),
    );
    await service.start();
    server = await service.listen(0, '127.0.0.1');
  });
  afterAll(() => service.stop());

  it('when asked, then /readyz reports Redis ready and /healthz answers', async () => {
    expect((await call('GET', `${server.url}/healthz`)).status).toBe(200);
    expect((await call('GET', `${server.url}/readyz`)).body).toMatchObject({
      status: 'ready',
      checks: { redis: { ok: true } },
    });
  });

  it('when DEMO_ENABLED is not false, then /demo serves the console, and with false it does not', async () => {
    expect((await fetch(`${server.url}/demo`)).status).toBe(200);
    const off = await createGatewayService(
      loadGatewayConfig({
        REDIS_URL: infra.redisUrl,
        JWT_SECRET: secret,
        LOG_LEVEL: 'silent',
        SHUTDOWN_GRACE_MS: '500',
        DEMO_ENABLED: 'false',
      }),
    );
    await off.start();
    const offServer = await off.listen(0, '127.0.0.1');
    try {
      const res = await call('GET', `${offServer.url}/demo`);
      expect(res.status).toBe(404);
      expect(ErrorBody.parse(res.body).error.code).toBe('not_found');
    } finally {
      await off.stop();
    }
  });

  it('when the stream route is called without a token, then the answer is 401 in the error shape', async () => {
    const res = await call('GET', `${server.url}/api/v1/users/1/activity-stream`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(res.status).toBe(401);
    expect(ErrorBody.parse(res.body).error.code).toBe('unauthorized');
  });

  it('when LOG_FORMAT=pretty, then lines are readable for a terminal, and by default each is one JSON object', async () => {
    const outputOf = async (format: Record<string, string>) => {
      const child = await startChildService(
        `${import.meta.dirname}/..`,
        'src/main.ts',
        { REDIS_URL: infra.redisUrl, JWT_SECRET: secret, ...format },
        await freePort(),
      );
      await eventually(async () => (/listening/.test(child.output()) ? true : undefined), 10_000);
      await child.kill('SIGTERM');
      return child
        .output()
        .split('\n')
        .filter((line) => /listening/.test(line));
    };
    const [pretty] = await outputOf({ LOG_FORMAT: 'pretty' });
    expect(pretty).toMatch(/\d\d:\d\d:\d\d\.\d{3}.*INFO.*stream-gateway listening/);
    expect(pretty!.trimStart().startsWith('{')).toBe(false);
    const [json] = await outputOf({});
    expect(JSON.parse(json!)).toMatchObject({
      level: 30,
      service: 'stream-gateway',
      msg: 'listening',
    });
  });

  it('when started with a bad config value, then the process exits non-zero naming the variable', async () => {
    const result = await runEntryPoint(`${import.meta.dirname}/..`, 'src/main.ts', {
      REDIS_URL: 'redis://127.0.0.1:6379',
      JWT_ALGORITHMS: 'HS256,none',
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('JWT_ALGORITHMS');
  });
});

describe('stream-gateway readiness', () => {
  let redis: DisposableServer;
  let service: GatewayService;
  let server: RunningServer;
  beforeAll(async () => {
    redis = await startDisposable('redis');
    service = await createGatewayService(
      loadGatewayConfig({
        REDIS_URL: redis.url,
        JWT_SECRET: secret,
        LOG_LEVEL: 'silent',
        SHUTDOWN_GRACE_MS: '500',
      }),
    );
    await service.start();
    server = await service.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await service.stop();
    await redis.destroy();
  });

  it('when Redis stops, then /readyz turns 503, and 200 again once it is back', async () => {
    const status = async () => (await call('GET', `${server.url}/readyz`)).status;
    expect(await status()).toBe(200);
    await redis.stop();
    await eventually(async () => ((await status()) === 503 ? true : undefined), 20_000);
    await redis.start();
    await eventually(async () => ((await status()) === 200 ? true : undefined), 30_000);
  });
});
