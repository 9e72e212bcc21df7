import { afterAll, describe, expect, it } from 'vitest';
import { ProjectionKeys } from '@suite/contracts';
import { createRedis } from '@suite/redis';
import { createLogger } from '@suite/logger';
import { isolate, testInfra } from '@suite/testkit';
import { ProjectionState } from '../src/data-access/projection.state.js';

const infra = testInfra();
const clients: { disconnect(): void }[] = [];
afterAll(() => clients.forEach((c) => c.disconnect()));

describe('the projections condition while rebuilding', () => {
  for (const target of ['one Redis', 'a Redis Cluster'] as const) {
    it(`when users.events reached its targets on ${target} and the activities have not, then it is rebuilding with the access replica whole (the router may route), and not while users.events lags`, async () => {
      const url = target === 'one Redis' ? infra.redisUrl : infra.redisClusterUrl;
      if (!url) return expect(target).toBe('a Redis Cluster');
      const redis = createRedis(
        url,
        createLogger({ service: 'test', version: '0', level: 'silent' }),
        'projection-state-test',
      );
      clients.push(redis);
      await redis.connect();
      const { keyPrefix: prefix, topicPrefix } = isolate('projection-state');
      const [activities, users] = [`${topicPrefix}activity.events`, `${topicPrefix}users.events`];
      const state = new ProjectionState(redis, prefix, users);
      await state.claim([
        { topic: activities, partition: 0, offset: 100n },
        { topic: activities, partition: 1, offset: 50n },
        { topic: users, partition: 0, offset: 10n },
      ]);
      const offset = (topic: string, partition: number, value: number) =>
        redis.set(ProjectionKeys.offset(prefix, topic, partition), String(value));

      await offset(users, 0, 9);
      expect(await state.condition()).toMatchObject({
        state: 'rebuilding',
        remaining: 151,
        accessWhole: false,
      });
      await offset(users, 0, 10);
      await offset(activities, 0, 40);
      expect(await state.condition()).toMatchObject({
        state: 'rebuilding',
        remaining: 110,
        accessWhole: true,
      });
      await offset(activities, 0, 100);
      await offset(activities, 1, 50);
      expect(await state.condition()).toMatchObject({ state: 'ready' });
      // Without an access topic nothing is taken for whole before the end.
      const plain = new ProjectionState(redis, isolate('projection-state-plain').keyPrefix);
      await plain.claim([{ topic: users, partition: 0, offset: 10n }]);
      expect(await plain.condition()).toMatchObject({ state: 'rebuilding', accessWhole: false });
    });
  }
});
