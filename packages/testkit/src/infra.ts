import { Cluster, Redis } from 'ioredis';
import { clusterTarget } from '@suite/redis';
import {
  ensureRedisCluster,
  infraUp,
  probeKafka,
  probeMongo,
  probeRedis,
  probeRedisCluster,
} from '@suite/local-infra';
import { dockerAnswers, startContainers } from './containers.js';

/** Where the integration tests' servers are and how they were found. */
export interface TestInfra {
  mode: 'environment' | 'testcontainers' | 'local';
  kafkaBrokers: string[];
  mongoUrl: string;
  redisUrl: string;
  /**
   * A Redis Cluster (`redis-cluster://…`) for the tests that prove the same guarantees there:
   * `REDIS_CLUSTER_URL` in the environment, the local 3-primary cluster otherwise; absent only under
   * testcontainers (no cluster image is started there).
   */
  redisClusterUrl?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    infra: TestInfra;
  }
}

/** Environment URLs when given; testcontainers when Docker answers; the local provisioning otherwise. */
export async function resolveInfra(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ infra: TestInfra; teardown: () => Promise<void> }> {
  const none = async () => undefined;
  const { KAFKA_BROKERS, MONGO_URL, REDIS_URL, REDIS_CLUSTER_URL } = env;
  if (KAFKA_BROKERS && MONGO_URL && REDIS_URL) {
    const kafkaBrokers = KAFKA_BROKERS.split(',').map((b) => b.trim());
    await Promise.all([
      probeKafka(kafkaBrokers),
      probeMongo(MONGO_URL),
      probeRedis(REDIS_URL),
      REDIS_CLUSTER_URL ? probeRedisCluster(REDIS_CLUSTER_URL) : undefined,
    ]);
    return {
      infra: {
        mode: 'environment',
        kafkaBrokers,
        mongoUrl: MONGO_URL,
        redisUrl: REDIS_URL,
        ...(REDIS_CLUSTER_URL ? { redisClusterUrl: REDIS_CLUSTER_URL } : {}),
      },
      teardown: none,
    };
  }
  if (env.SUITE_TEST_INFRA !== 'local' && (await dockerAnswers())) {
    const containers = await startContainers();
    return {
      infra: { mode: 'testcontainers', ...containers.endpoints },
      teardown: containers.stop,
    };
  }
  const [up, cluster] = await Promise.all([infraUp(), ensureRedisCluster()]);
  // Local servers stay up for the next run (and for `npm start`); `npm run infra:down` stops them.
  return {
    infra: {
      mode: 'local',
      kafkaBrokers: up.kafkaBrokers,
      mongoUrl: up.mongoUrl,
      redisUrl: up.redisUrl,
      redisClusterUrl: cluster.url,
    },
    teardown: none,
  };
}

/**
 * A client for a test's own look at Redis, one Redis or a cluster alike (connects at once). On a
 * cluster, a command naming keys of two slots is refused: read per key.
 */
export function testRedis(url: string): Redis | Cluster {
  const cluster = clusterTarget(url);
  return cluster ? new Cluster(cluster.nodes, { scaleReads: 'master' }) : new Redis(url);
}

/** The Redis modes the cluster-proven tests run in: the single Redis, and the cluster when there is one. */
export function redisModes(infra: TestInfra): [mode: 'single' | 'cluster', infra: TestInfra][] {
  return [
    ['single', infra],
    ...(infra.redisClusterUrl
      ? [['cluster', { ...infra, redisUrl: infra.redisClusterUrl }] as ['cluster', TestInfra]]
      : []),
  ];
}
