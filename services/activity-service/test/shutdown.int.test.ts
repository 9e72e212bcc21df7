import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ProjectionKeys, StatsField } from '@suite/contracts';
import { freePort } from '@suite/local-infra';
import {
  call,
  createTestTopics,
  eventually,
  isolate,
  startChildService,
  testInfra,
  TEST_ORIGIN_KEY,
} from '@suite/testkit';
import { activityEvent, secret } from './helpers.js';

const infra = testInfra();
const redis = new Redis(infra.redisUrl);
afterAll(() => redis.disconnect());

describe('graceful shutdown', () => {
  it('when SIGTERM comes under load, then offsets are committed, the group is left at once, the exit is 0 inside the grace period, and a restart applies every event once', async () => {
    const names = isolate('shutdown');
    await createTestTopics(infra, names.topicPrefix, { 'activity.events': 3, 'users.events': 1 });
    const groupId = `${names.id}-g`;
    const env = {
      REDIS_URL: infra.redisUrl,
      REDIS_KEY_PREFIX: names.keyPrefix,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      KAFKA_TOPIC_PREFIX: names.topicPrefix,
      KAFKA_GROUP_ID: groupId,
      JWT_SECRET: secret,
      USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
      LOG_LEVEL: 'warn',
      SHUTDOWN_GRACE_MS: '10000',
      KAFKA_SESSION_TIMEOUT_MS: '30000',
    };
    const kafka = new Kafka({
      clientId: 'shutdown-test',
      brokers: infra.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    try {
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
      expect((await admin.describeGroups([groupId])).groups[0]!.members).toHaveLength(1);

      const topic = `${names.topicPrefix}activity.events`;
      let produced = 0;
      let producing = true;
      const load = (async () => {
        while (producing) {
          const batch = Array.from({ length: 200 }, () => activityEvent(1 + (produced % 50)));
          await producer.send({
            topic,
            messages: batch.map((e) => ({ key: e.subject, value: JSON.stringify(e) })),
          });
          produced += batch.length;
        }
      })();
      // Under load: the projection has applied some of it, and more keeps coming.
      const checkpoints = () =>
        redis.mget([0, 1, 2].map((p) => ProjectionKeys.offset(names.keyPrefix, topic, p)));
      await eventually(
        async () =>
          produced > 2000 && (await checkpoints()).some((o) => Number(o ?? 0) > 0)
            ? true
            : undefined,
        30_000,
      );
      const started = Date.now();
      const exited = child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // The session timeout is 30 s: an empty group right away means the member left, not timed out.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await admin.describeGroups([groupId])).groups[0]!.members).toHaveLength(0);
      // Leaving the group committed what was applied (for lag tooling) and matches the projection's own offsets.
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      for (const { partition, offset } of committed!.partitions) {
        if (offset === '-1') continue;
        expect(offset).toBe(
          (await redis.get(ProjectionKeys.offset(names.keyPrefix, topic, partition))) ?? '0',
        );
      }
      expect(committed!.partitions.some((p) => Number(p.offset) > 0)).toBe(true);
      producing = false;
      await load;

      // A new process resumes from the stored offsets and ends with every event applied exactly once.
      const again = await startChildService(
        `${import.meta.dirname}/..`,
        'src/main.ts',
        env,
        await freePort(),
      );
      await eventually(
        async () => {
          let sum = 0;
          for (let u = 1; u <= 50; u++)
            sum += Number(
              (await redis.hget(ProjectionKeys.stats(names.keyPrefix, u), StatsField.count)) ?? 0,
            );
          return sum === produced ? true : undefined;
        },
        60_000,
        250,
      );
      await again.kill('SIGTERM');
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
  }, 180_000);
});
