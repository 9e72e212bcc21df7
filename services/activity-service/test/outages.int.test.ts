import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '@suite/contracts';
import { eventually, startDisposable, testInfra, type DisposableServer } from '@suite/testkit';
import { activityEvent, startActivityService, tokens } from './helpers.js';

/** The bound a client waits at most while a dependency is down: the publisher's acknowledgement deadline (5 s) plus slack. */
const BOUND_MS = 7000;

let kafka: DisposableServer;
let redis: DisposableServer;
let ctx: Awaited<ReturnType<typeof startActivityService>>;
beforeAll(async () => {
  [kafka, redis] = await Promise.all([startDisposable('kafka'), startDisposable('redis')]);
  ctx = await startActivityService(
    'outages',
    {},
    { ...testInfra(), kafkaBrokers: [kafka.url.replace(/^\w+:\/\//, '')], redisUrl: redis.url },
  );
}, 180_000);
afterAll(async () => {
  await ctx?.stop();
  await Promise.all([kafka?.destroy(), redis?.destroy()]);
});

/** A request's status, error code and how long it took. */
async function timed(request: () => Promise<Response>) {
  const started = Date.now();
  const res = await request();
  const body = (await res.json()) as unknown;
  return {
    status: res.status,
    code: res.status >= 400 ? ErrorBody.parse(body).error.code : undefined,
    ms: Date.now() - started,
    body,
  };
}

/** The readiness body while a dependency is down: it names the dependency, never the driver's error text. */
async function readinessNaming(dependency: string) {
  return eventually(
    async () => {
      const res = await fetch(`${ctx.api.replace(/\/api\/v1$/, '')}/readyz`);
      const text = await res.text();
      const body = JSON.parse(text) as { checks: Record<string, { ok: boolean; error?: string }> };
      return res.status === 503 && body.checks[dependency]?.ok === false
        ? { text, body }
        : undefined;
    },
    30_000,
    200,
  );
}

describe('a dependency down', () => {
  it('when Kafka is killed, then POST /activities answers 503 within the bound, and 202 on its own once Kafka is back', async () => {
    const token = await tokens.writer();
    const publish = () =>
      timed(() =>
        fetch(`${ctx.api}/activities`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(activityEvent(8101)),
        }),
      );
    expect((await publish()).status).toBe(202);
    await kafka.crash();
    const down = await publish();
    expect(down).toMatchObject({ status: 503, code: 'unavailable' });
    expect(down.ms).toBeLessThan(BOUND_MS);
    expect(JSON.stringify(down.body)).not.toMatch(/ECONNREFUSED|broker|127\.0\.0\.1/);
    const readiness = await readinessNaming('kafka');
    expect(readiness.body.checks.kafka!.error).toMatch(
      /^(unreachable|did not answer within \d+ ms)$/,
    );
    expect(readiness.text).not.toMatch(/ECONNREFUSED|broker|127\.0\.0\.1|KafkaJS/);
    // Reads need only Redis and the projections: the readiness the chart probes stays 200, and reads are served.
    const scoped = await fetch(
      `${ctx.api.replace(/\/api\/v1$/, '')}/readyz?check=redis,projections`,
    );
    expect(scoped.status).toBe(200);
    const admin = await tokens.admin();
    expect(
      (
        await fetch(`${ctx.api}/users/8101/activity-count`, {
          headers: { authorization: `Bearer ${admin}` },
        })
      ).status,
    ).toBe(200);
    await kafka.start();
    await eventually(
      async () => ((await publish()).status === 202 ? true : undefined),
      90_000,
      500,
    );
  }, 180_000);

  it('when Redis is killed, then reads answer 503 within the bound, and 200 on their own once Redis is back', async () => {
    const token = await tokens.admin();
    const read = () =>
      timed(() =>
        fetch(`${ctx.api}/users/8102/activity-count`, {
          headers: { authorization: `Bearer ${token}` },
        }),
      );
    await eventually(async () => ((await read()).status === 200 ? true : undefined), 30_000, 200);
    await redis.crash();
    for (const path of ['activity-count', 'activities', 'active-workspaces']) {
      const down = await timed(() =>
        fetch(`${ctx.api}/users/8102/${path}`, { headers: { authorization: `Bearer ${token}` } }),
      );
      expect(down, path).toMatchObject({ status: 503, code: 'unavailable' });
      expect(down.ms, path).toBeLessThan(BOUND_MS);
      expect(JSON.stringify(down.body), path).not.toMatch(
        /ECONNREFUSED|127\.0\.0\.1|Connection is closed/,
      );
    }
    const readiness = await readinessNaming('redis');
    expect(readiness.body.checks.redis!.error).toMatch(
      /^(unreachable|did not answer within \d+ ms)$/,
    );
    expect(readiness.text).not.toMatch(
      /ECONNREFUSED|127\.0\.0\.1|Connection is closed|max retries/,
    );
    await redis.start();
    await eventually(async () => ((await read()).status === 200 ? true : undefined), 60_000, 200);
  }, 120_000);
});
