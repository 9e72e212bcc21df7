import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ProjectionKeys, StreamCloseCodes, encodeLiveBatch } from '@suite/contracts';
import { freePort } from '@suite/local-infra';
import {
  call,
  eventually,
  httpLoad,
  isolate,
  shutdownViolations,
  startChildService,
  testInfra,
} from '@suite/testkit';
import { openStream, secret, token } from './helpers.js';

const infra = testInfra();
const USERS = 40;

describe('graceful shutdown', () => {
  it('when SIGTERM comes while activities stream out, then every WebSocket gets 1001, SSE streams end cleanly, HTTP has no 5xx or reset, and the exit is 0 in the grace period', async () => {
    const names = isolate('gateway-shutdown');
    // One admin token opens all 90 streams: more handshakes than a principal's default budget, which is not what this tests.
    const env = {
      REDIS_URL: infra.redisUrl,
      REDIS_KEY_PREFIX: names.keyPrefix,
      JWT_SECRET: secret,
      LOG_LEVEL: 'warn',
      SHUTDOWN_GRACE_MS: '10000',
      RATE_LIMIT_STREAM_PER_MIN: '1000',
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
    const admin = await token('1', { roles: ['admin'] });
    const wsUrl = (u: number) =>
      `${child.url.replace('http', 'ws')}/api/v1/users/${u}/activity-stream`;

    // Two WebSockets per user, and an SSE stream for every fourth user.
    const sockets = await Promise.all(
      Array.from({ length: USERS * 2 }, (_, i) =>
        openStream(wsUrl(1 + (i % USERS)), { headers: { authorization: `Bearer ${admin}` } }),
      ),
    );
    const sse = await Promise.all(
      Array.from({ length: USERS / 4 }, async (_, i) => {
        const res = await fetch(`${child.url}/api/v1/users/${1 + i * 4}/activity-stream`, {
          headers: { accept: 'text/event-stream', authorization: `Bearer ${admin}` },
        });
        expect(res.status).toBe(200);
        let events = 0;
        const ended = (async () => {
          const decoder = new TextDecoder();
          for await (const chunk of res.body!)
            events += (decoder.decode(chunk as Uint8Array).match(/^event: activity$/gm) ?? [])
              .length;
          return 'ended';
        })().catch((err: unknown) => `failed: ${(err as Error).message}`);
        return { ended, events: () => events };
      }),
    );

    // The activity-service's live output: a batch of two activities per user, continuously, at consecutive positions.
    const redis = new Redis(infra.redisUrl);
    let seq = 0;
    const positions = new Map<number, number>();
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const pipeline = redis.pipeline();
        for (let u = 1; u <= USERS; u++) {
          const items = [0, 1].map(() => {
            seq += 1;
            const id = `sd-${seq}`;
            return {
              json: JSON.stringify({
                id,
                userId: u,
                time: new Date(Date.UTC(2026, 6, 1) + seq).toISOString(),
                source: '/t',
                actorId: u,
                verb: 'viewed',
                object: { type: 'doc', id: '1' },
                workspaceId: 1,
              }),
            };
          });
          const first = (positions.get(u) ?? 0) + 1;
          positions.set(u, first + 1);
          pipeline.publish(
            ProjectionKeys.liveChannel(names.keyPrefix, u),
            encodeLiveBatch('sd', first, items),
          );
        }
        await pipeline.exec();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const http = httpLoad(child.url, 4, () => ({ method: 'GET', path: '/healthz' }));
    await eventually(
      async () =>
        sockets.every((s) => s.activities().length > 20) && sse.every((s) => s.events() > 20)
          ? true
          : undefined,
      30_000,
    );

    const started = Date.now();
    http.signal();
    const exited = child.kill('SIGTERM');
    const closes = await Promise.all(sockets.map((s) => s.closed));
    expect(await exited, child.output()).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    publishing = false;
    await publisher;
    redis.disconnect();

    expect(closes.map((c) => c.code)).toEqual(sockets.map(() => StreamCloseCodes.goingAway));
    expect(await Promise.all(sse.map((s) => s.ended))).toEqual(sse.map(() => 'ended'));
    // Every frame a client got before the close was whole (openStream parses each one).
    expect(
      sockets.every((s) => s.messages.every((m) => m.type === 'activity' || m.type === 'ready')),
    ).toBe(true);
    expect(shutdownViolations(await http.stop())).toEqual([]);
  }, 120_000);
});
