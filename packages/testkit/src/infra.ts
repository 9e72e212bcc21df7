import { infraUp, probeKafka, probeMongo, probeRedis } from '@suite/local-infra';
import { dockerAnswers, startContainers } from './containers.js';

/** Where the integration tests' servers are and how they were found. */
export interface TestInfra {
  mode: 'environment' | 'testcontainers' | 'local';
  kafkaBrokers: string[];
  mongoUrl: string;
  redisUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    infra: TestInfra;
  }
}

/** Environment URLs when given; testcontainers when Docker answers; the local provisioning otherwise. */
export async function resolveInfra(env: NodeJS.ProcessEnv = process.env): Promise<{ infra: TestInfra; teardown: () => Promise<void> }> {
  const none = async () => undefined;
  const { KAFKA_BROKERS, MONGO_URL, REDIS_URL } = env;
  if (KAFKA_BROKERS && MONGO_URL && REDIS_URL) {
    const kafkaBrokers = KAFKA_BROKERS.split(',').map((b) => b.trim());
    await Promise.all([probeKafka(kafkaBrokers), probeMongo(MONGO_URL), probeRedis(REDIS_URL)]);
    return { infra: { mode: 'environment', kafkaBrokers, mongoUrl: MONGO_URL, redisUrl: REDIS_URL }, teardown: none };
  }
  if (env.SUITE_TEST_INFRA !== 'local' && (await dockerAnswers())) {
    const containers = await startContainers();
    return { infra: { mode: 'testcontainers', ...containers.endpoints }, teardown: containers.stop };
  }
  const up = await infraUp();
  // Local servers stay up for the next run (and for `npm start`); `npm run infra:down` stops them.
  return { infra: { mode: 'local', kafkaBrokers: up.kafkaBrokers, mongoUrl: up.mongoUrl, redisUrl: up.redisUrl }, teardown: none };
}
