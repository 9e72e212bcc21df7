import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@suite/testkit';
import { openStream, startStack, token } from './helpers.js';

let stack: Awaited<ReturnType<typeof startStack>>;
beforeAll(async () => {
  stack = await startStack(
    'stream-limits',
    { STREAM_MAX_CONNECTIONS_PER_USER: '3', RATE_LIMIT_STREAM_PER_MIN: '30' },
    2,
  );
}, 60_000);
afterAll(() => stack.stop());

/** A handshake's outcome: 101 (the stream opened, and is closed again before this resolves), or the refusal's status and headers. */
async function handshake(
  url: string,
  bearer: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  try {
    const stream = await openStream(url, { headers: { authorization: `Bearer ${bearer}` } });
    // Closed before resolving, so the next handshake does not meet this one's seat under the per-user cap.
    stream.ws.close();
    await stream.closed;
    return { status: 101, headers: {} };
  } catch (err) {
    const { status, headers } = err as {
      status?: number;
      headers?: Record<string, string | string[] | undefined>;
    };
    return { status: status ?? -1, headers: headers ?? {} };
  }
}

describe('stream limits', () => {
  it('when handshakes race past the per-user cap, then it holds, answers 429 with Retry-After, and a closed stream frees a seat', async () => {
    const user = 61;
    const bearer = await token(String(user));
    const attempts = await Promise.allSettled(
      Array.from({ length: 12 }, () =>
        openStream(stack.url(user), { headers: { authorization: `Bearer ${bearer}` } }),
      ),
    );
    const open = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
    const refused = attempts.flatMap((a) =>
      a.status === 'rejected' ? [(a.reason as { status?: number }).status] : [],
    );
    expect(open).toHaveLength(3);
    expect(refused).toEqual(Array(9).fill(429));
    const refusal = await handshake(stack.url(user), bearer);
    expect(refusal.status).toBe(429);
    expect(Number(refusal.headers['retry-after'])).toBeGreaterThan(0);
    // Another user is not affected by this user's cap.
    expect((await handshake(stack.url(69), await token('69'))).status).toBe(101);
    open[0]!.ws.close();
    await open[0]!.closed;
    await eventually(
      async () => ((await handshake(stack.url(user), bearer)).status === 101 ? true : undefined),
      5000,
    );
    for (const s of open.slice(1)) s.ws.close();
  });

  it('when one principal opens streams on two gateways, then the handshakes draw on one shared budget, advertised on the refusal', async () => {
    const user = 62;
    const bearer = await token(String(user));
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof handshake>> | undefined;
    // 30 a minute: the test above used none of this user's; alternate the two gateways.
    for (let i = 0; i < 34; i++) {
      last = await handshake(stack.url(user, i % 2), bearer);
      statuses.push(last.status);
    }
    expect(statuses.filter((s) => s === 101)).toHaveLength(30);
    expect(statuses.slice(30)).toEqual([429, 429, 429, 429]);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    expect(last!.headers['ratelimit-policy']).toBe('"stream";q=30;w=60');
    expect(last!.headers.ratelimit).toMatch(/^"stream";r=0;t=\d+$/);
    // SSE handshakes count on the same budget.
    const sse = await fetch(`${stack.http(1)}/api/v1/users/${user}/activity-stream`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${bearer}` },
    });
    expect(sse.status).toBe(429);
    expect(sse.headers.get('retry-after')).toMatch(/^\d+$/);
    await sse.body?.cancel();
  });
});
