import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { clusterTarget } from '@suite/redis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RateLimits, reservationOf, type RatePolicy } from '@suite/server-kit';
import type { RateClass } from '@suite/contracts';

// The servers the test harness's global setup started (testkit depends on server-kit, so this
// package's tests read them without importing it).
const { redisUrl, redisClusterUrl } = (
  inject as unknown as (key: string) => { redisUrl: string; redisClusterUrl?: string }
)('infra');
const isolate = (label: string) => ({ keyPrefix: `t:${label}_${randomBytes(4).toString('hex')}:` });
let redis: Redis[] = [];
beforeAll(async () => {
  redis = [new Redis(redisUrl), new Redis(redisUrl)];
  // Connected first: a replica whose Redis is not ready counts in memory (on purpose), which is not what these tests are about.
  await Promise.all(redis.map((r) => r.ping()));
});
afterAll(() => redis.forEach((r) => r.disconnect()));

const policies = (read: number): Record<RateClass, RatePolicy> => ({
  read: { points: read, windowS: 60 },
  search: { points: 300, windowS: 60 },
  write: { points: 300, windowS: 60 },
  ingest: { points: 1000, windowS: 60 },
  stream: { points: 60, windowS: 60 },
});

/** `n` takes at once, spread over `replicas`: how many were allowed. */
async function burst(replicas: RateLimits[], n: number, units = 1): Promise<number> {
  const decisions = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      replicas[i % replicas.length]!.take('read', 'p:someone', units),
    ),
  );
  return decisions.filter((d) => d.allowed).length;
}

describe('rate-limit budgets reserved in slices', () => {
  it('when 500 requests of one principal arrive at once within a budget of 1,000, then every one is allowed', async () => {
    const { keyPrefix } = isolate('rl-concurrent');
    expect(await burst([new RateLimits(redis[0]!, keyPrefix, policies(1000))], 500)).toBe(500);
  });

  it('when 200 requests arrive at once on one replica for a budget of 150, then exactly 150 are allowed (a replica strands nothing it can still spend)', async () => {
    const { keyPrefix } = isolate('rl-exact');
    expect(await burst([new RateLimits(redis[0]!, keyPrefix, policies(150))], 200)).toBe(150);
  });

  it('when two replicas share a budget of 300 and 900 requests arrive at once, then never more than 300 are allowed, and at most a slice per replica fewer', async () => {
    const { keyPrefix } = isolate('rl-shared');
    const allowed = await burst(
      [
        new RateLimits(redis[0]!, keyPrefix, policies(300)),
        new RateLimits(redis[1]!, keyPrefix, policies(300)),
      ],
      900,
    );
    expect(allowed).toBeLessThanOrEqual(300);
    expect(allowed).toBeGreaterThanOrEqual(300 - 2 * (reservationOf(300) - 1));
    expect(Number(await redis[0]!.get(`${keyPrefix}rl:read:p:someone`))).toBeLessThanOrEqual(300);
  });

  it.skipIf(redisClusterUrl === undefined)(
    'when two replicas on a Redis Cluster share a budget of 300, then they allow 300 of 900 at most, as on one Redis (one key, one slot per principal)',
    async () => {
      const { keyPrefix } = isolate('rl-cluster');
      const nodes = clusterTarget(redisClusterUrl!)!.nodes;
      const clients = [new Cluster(nodes), new Cluster(nodes)];
      try {
        await Promise.all(clients.map((c) => c.ping()));
        const allowed = await burst(
          clients.map((c) => new RateLimits(c, keyPrefix, policies(300))),
          900,
        );
        expect(allowed).toBeLessThanOrEqual(300);
        expect(allowed).toBeGreaterThanOrEqual(300 - 2 * (reservationOf(300) - 1));
      } finally {
        clients.forEach((c) => c.disconnect());
      }
    },
  );

  it('when requests take many units (an ingest batch), then the budget counts the units', async () => {
    const { keyPrefix } = isolate('rl-units');
    const limits = new RateLimits(redis[0]!, keyPrefix, policies(1000));
    expect((await limits.take('read', 'p:batch', 500)).allowed).toBe(true);
    expect((await limits.take('read', 'p:batch', 500)).allowed).toBe(true);
    expect((await limits.take('read', 'p:batch', 1)).allowed).toBe(false);
  });
});
