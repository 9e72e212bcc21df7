import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProjectionKeys, userSlot } from '@suite/contracts';
import { isolate, testInfra, testRedis } from '@suite/testkit';
import { dropProjections } from '../src/data-access/projection.state.js';

const infra = testInfra();

afterEach(() => vi.restoreAllMocks());

/**
 * A step checks its marker (the layout on one Redis, its slot's marker on a cluster) and writes in
 * one script. A drop that unlinked a user's keys while that user's marker was still there would let
 * a step of the old generation write the user again, and the next generation would start on those
 * remains (seen on a cluster heal under load: duplicates applied, older records skipped).
 */
describe('dropping the projections', () => {
  for (const target of ['one Redis', 'a Redis Cluster'] as const) {
    it(`when the projections are dropped on ${target}, then every marker a step checks is gone before the first data key is unlinked, and nothing is left`, async () => {
      const url = target === 'one Redis' ? infra.redisUrl : infra.redisClusterUrl;
      if (!url) return expect(target).toBe('a Redis Cluster');
      const prefix = isolate('drop-order').keyPrefix;
      const redis = testRedis(url);
      try {
        const users = Array.from({ length: 40 }, (_, i) => i + 1);
        const markers = [
          ProjectionKeys.layout(prefix),
          ...new Set(users.map((u) => ProjectionKeys.slotMarker(prefix, userSlot(u)))),
        ];
        const data = users.flatMap((u) => [
          ProjectionKeys.stats(prefix, u),
          ProjectionKeys.log(prefix, u),
          ProjectionKeys.inbox(prefix, u),
        ]);
        for (const key of [
          ...markers,
          ...data,
          ProjectionKeys.offset(prefix, 'activity.events', 0),
        ])
          await redis.set(key, '1');
        const order: string[] = [];
        const unlink = Redis.prototype.unlink;
        vi.spyOn(Redis.prototype, 'unlink').mockImplementation(function (
          this: Redis,
          ...args: Parameters<Redis['unlink']>
        ) {
          order.push(String(args[0]));
          return unlink.apply(this, args);
        } as Redis['unlink']);
        const dropped = await dropProjections(redis, prefix);
        expect(dropped).toBe(markers.length + data.length + 1);
        const lastMarker = Math.max(...markers.map((m) => order.indexOf(m)));
        const firstData = Math.min(...data.map((d) => order.indexOf(d)));
        expect(Math.min(...markers.map((m) => order.indexOf(m)))).toBeGreaterThanOrEqual(0);
        expect(lastMarker).toBeLessThan(firstData);
        for (const key of [...markers, ...data]) expect(await redis.exists(key)).toBe(0);
      } finally {
        redis.disconnect();
      }
    });
  }
});
