import { createTestTopics, isolate, testInfra, TEST_ORIGIN_KEY, TEST_JWT_SECRET, testTokens } from '@suite/testkit';
import type { RunningServer } from '@suite/server-kit';
import { createUsersService, loadUsersConfig, type UsersService } from '@suite/users-service';

export const secret = TEST_JWT_SECRET;

/** Starts users-service in-process on its own database and topics. */
export async function startUsersService(label: string, env: Record<string, string> = {}) {
  const infra = testInfra();
  const names = isolate(label);
  await createTestTopics(infra, names.topicPrefix, { 'users.events': 3 });
  const service: UsersService = await createUsersService(
    loadUsersConfig({
      MONGO_URL: infra.mongoUrl,
      MONGO_DB: names.dbName,
      REDIS_URL: infra.redisUrl,
      REDIS_KEY_PREFIX: names.keyPrefix,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      KAFKA_TOPIC_PREFIX: names.topicPrefix,
      JWT_SECRET: secret,
      USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      SHUTDOWN_GRACE_MS: '500',
      OUTBOX_SWEEP_INTERVAL_MS: '500',
      ...env,
    }),
  );
  await service.start();
  const server: RunningServer = await service.listen(0, '127.0.0.1');
  return { service, server, names, infra, api: `${server.url}/api/v1`, usersTopic: `${names.topicPrefix}users.events` };
}

export const tokens = { ...testTokens, service: testTokens.writer };
