import type { RunningServer } from '@suite/server-kit';
import type { TestInfra } from './infra.js';
import { createTestTopics, isolate, testInfra, type Isolation } from './isolation.js';
import { TEST_ORIGIN_KEY } from './origin.js';
import { TEST_JWT_SECRET } from './tokens.js';

/**
 * Every variable a test service needs, for any of the three: each service's config reads only the
 * ones it knows, so one environment starts any of them against the test servers, on the file's
 * own database, key prefix, topics and consumer group, with the test keys.
 */
export function testServiceEnv(infra: TestInfra, names: Isolation): Record<string, string> {
  return {
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: names.dbName,
    REDIS_URL: infra.redisUrl,
    REDIS_KEY_PREFIX: names.keyPrefix,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: names.topicPrefix,
    KAFKA_GROUP_ID: `${names.id}-projector`,
    JWT_SECRET: TEST_JWT_SECRET,
    USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SHUTDOWN_GRACE_MS: '1000',
  };
}

interface InProcessService {
  start(): Promise<void>;
  listen(port?: number, host?: string): Promise<RunningServer>;
  stop(): Promise<void>;
}

export interface InProcessOptions {
  /** Variables over the test defaults. */
  env?: Record<string, string>;
  /** Names shared with another service of the same test (otherwise fresh ones). */
  names?: Isolation;
  infra?: TestInfra;
  /** False when the test made the topics itself (with configs of its own); else they are created here. */
  createTopics?: boolean;
}

/**
 * The one way tests start a service in-process: fresh names (or shared ones), the topics, the
 * test environment, `start` and `listen` on a free loopback port. `load` and `create` are the
 * service's own config loader and factory.
 */
export async function startInProcess<C, S extends InProcessService>(
  label: string,
  load: (env: Record<string, string>) => C,
  create: (config: C) => Promise<S>,
  options: InProcessOptions = {},
) {
  const infra = options.infra ?? testInfra();
  const names = options.names ?? isolate(label);
  if (options.createTopics !== false)
    await createTestTopics(infra, names.topicPrefix, {
      'activity.events': 3,
      'users.events': 2,
      'inbox.events': 3,
    });
  const env = { ...testServiceEnv(infra, names), ...options.env };
  const service = await create(load(env));
  await service.start();
  const server = await service.listen(0, '127.0.0.1');
  return {
    service,
    server,
    names,
    infra,
    env,
    api: `${server.url}/api/v1`,
    stop: () => service.stop(),
  };
}
