import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '@suite/contracts';
import { reservationOf } from '@suite/server-kit';
import { startUsersService, tokens } from './helpers.js';

/** Two replicas of the users-service on one database and one Redis: the budgets are shared. */
let replicas: Awaited<ReturnType<typeof startUsersService>>[];
beforeAll(async () => {
  const first = await startUsersService('rate-limits');
  const second = await startUsersService('rate-limits', {
    MONGO_DB: first.names.dbName,
    REDIS_KEY_PREFIX: first.names.keyPrefix,
    KAFKA_TOPIC_PREFIX: first.names.topicPrefix,
  });
  replicas = [first, second];
}, 60_000);
afterAll(async () => {
  for (const r of replicas) await r.service.stop();
});

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** `count` GETs of `path` with `token`, alternating between the replicas, `parallel` at a time. */
async function burst(path: string, token: string, count: number, parallel = 16): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        const res = await fetch(`${replicas[i % 2]!.api}${path}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        answers.push({ status: res.status, headers: res.headers, body: await res.json() });
      }
    }),
  );
  return answers;
}

describe('rate limits per principal and route class, shared by the replicas through Redis', () => {
  it('when one user bursts 1,500 searches across both replicas, then at most the default 300 a minute are answered (never more, at most a slice per replica fewer) and the rest get 429; other users and other route classes are untouched', async () => {
    const user = await tokens.user(31);
    const answers = await burst('/users/search?q=ada', user, 1500);
    const ok = answers.filter((a) => a.status === 200);
    const limited = answers.filter((a) => a.status === 429);
    // Shared: never more than 300 in all (per replica it would be 600). Each replica reserves a slice
    // (reservationOf: 6 of 300) and spends it locally, so at most 5 per replica may go unspent.
    const unspent = 2 * (reservationOf(300) - 1);
    expect(ok.length).toBeLessThanOrEqual(300);
    expect(ok.length).toBeGreaterThanOrEqual(300 - unspent);
    expect(limited).toHaveLength(1500 - ok.length);
    for (const a of ok) {
      expect(a.headers.get('ratelimit-policy')).toBe('"search";q=300;w=60');
      const left = Number(/^"search";r=(\d+);t=\d+$/.exec(a.headers.get('ratelimit')!)![1]);
      expect(left).toBeLessThan(300);
    }
    for (const a of limited) {
      expect(ErrorBody.parse(a.body).error.code).toBe('rate_limited');
      const retryAfter = Number(a.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
      expect(a.headers.get('ratelimit')).toMatch(/^"search";r=0;t=\d+$/);
    }
    // Another user's searches, and this user's reads, draw on budgets of their own.
    const other = await burst('/users/search?q=ada', await tokens.user(32), 10);
    expect(other.map((a) => a.status)).toEqual(Array(10).fill(200));
    const reads = await burst('/users/31', user, 10);
    expect(reads.every((a) => a.status !== 429)).toBe(true);
    expect(reads[0]!.headers.get('ratelimit-policy')).toBe('"read";q=1200;w=60');
  }, 120_000);

  it('when limits are configured per class, then they hold, and a refusal says when the window resets', async () => {
    const own = await startUsersService('rate-window', { RATE_LIMIT_WRITE_PER_MIN: '3' });
    try {
      const admin = await tokens.admin();
      const patch = () =>
        fetch(`${own.api}/users/999999`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: '{"firstName":"X"}',
        });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await patch()).status);
      expect(statuses).toEqual([404, 404, 404, 429]);
      const refused = await patch();
      const wait = Number(refused.headers.get('retry-after'));
      expect(wait).toBeGreaterThanOrEqual(1);
      expect(wait).toBeLessThanOrEqual(60);
      expect(refused.headers.get('ratelimit')).toBe(`"write";r=0;t=${wait}`);
      expect(refused.headers.get('ratelimit-policy')).toBe('"write";q=3;w=60');
      // Reads are another class: still served.
      expect(
        (await fetch(`${own.api}/users`, { headers: { authorization: `Bearer ${admin}` } })).status,
      ).toBe(200);
    } finally {
      await own.service.stop();
    }
  }, 30_000);
});
