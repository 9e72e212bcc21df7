import {
  REDIS_CLUSTER_PORTS,
  ensureKafka,
  ensureMongo,
  ensureRedis,
  ensureRedisCluster,
  redisClusterUrl,
  stopPostgres,
  type Provisioned,
} from './servers.js';
import { ensureTopics, type TopicSpec } from './topics.js';
import { isAlive, readPid, stopDaemon } from './process.js';
import { probeKafka, probeMongo, probeRedis, probeRedisCluster } from './probes.js';
import { logDir } from './paths.js';

export interface InfraPorts {
  redis: number;
  kafka: number;
  mongo: number;
}

export const defaultPorts: InfraPorts = { redis: 6379, kafka: 9092, mongo: 27017 };

export interface InfraEndpoints {
  /** The single Redis, or the cluster when one was asked for. */
  redisUrl: string;
  /** The local Redis Cluster (`redis-cluster://…`) when one was asked for. */
  redisClusterUrl?: string;
  kafkaBrokers: string[];
  mongoUrl: string;
  servers: Provisioned[];
}

/**
 * Whether the local run uses a Redis Cluster: `SUITE_REDIS=cluster` (or `npm run infra:up --
 * --redis-cluster`, `npm start -- --redis-cluster`). One Redis otherwise.
 */
export function wantsRedisCluster(
  env: NodeJS.ProcessEnv = process.env,
  argv: string[] = process.argv,
): boolean {
  return env.SUITE_REDIS === 'cluster' || argv.includes('--redis-cluster');
}

/**
 * Brings up (or reuses) Redis, Kafka and a MongoDB-wire server on loopback, plus topics; with
 * `redisCluster`, a 3-primary Redis Cluster too (then `redisUrl` names it).
 */
export async function infraUp(
  ports: InfraPorts = defaultPorts,
  topics: TopicSpec[] = [],
  options: { redisCluster?: boolean } = {},
): Promise<InfraEndpoints> {
  // Kafka takes longest; the others start while the JVM boots.
  const [redis, kafka, mongo, cluster] = await Promise.all([
    ensureRedis(ports.redis),
    ensureKafka(ports.kafka),
    ensureMongo(ports.mongo),
    options.redisCluster ? ensureRedisCluster() : undefined,
  ]);
  if (topics.length > 0) await ensureTopics([kafka.url], topics);
  const servers = [redis, kafka, mongo, ...(cluster ? [cluster] : [])];
  return {
    redisUrl: cluster?.url ?? redis.url,
    ...(cluster ? { redisClusterUrl: cluster.url } : {}),
    kafkaBrokers: [kafka.url],
    mongoUrl: mongo.url,
    servers,
  };
}

/** Stops the servers this project started (never ones it found already running). */
export async function infraDown(): Promise<string[]> {
  const stopped: string[] = [];
  for (const name of [
    'kafka',
    'mongo',
    'redis',
    ...REDIS_CLUSTER_PORTS.map((port) => `redis-cluster-${port}`),
  ]) {
    if (await stopDaemon(name)) stopped.push(name);
  }
  if (await stopPostgres('mongo-postgres')) stopped.push('postgres');
  return stopped;
}

export interface ServerStatus {
  name: string;
  endpoint: string;
  answering: boolean;
  managedPid: number | null;
  log: string;
}

/** Reports, per server, whether it answers a protocol round trip and whether we manage it. */
export async function infraStatus(ports: InfraPorts = defaultPorts): Promise<ServerStatus[]> {
  const checks: [string, string, () => Promise<void>][] = [
    [
      'redis',
      `redis://127.0.0.1:${ports.redis}`,
      () => probeRedis(`redis://127.0.0.1:${ports.redis}`),
    ],
    ['kafka', `127.0.0.1:${ports.kafka}`, () => probeKafka([`127.0.0.1:${ports.kafka}`])],
    [
      'mongo',
      `mongodb://127.0.0.1:${ports.mongo}`,
      () => probeMongo(`mongodb://127.0.0.1:${ports.mongo}`),
    ],
    [
      'redis-cluster',
      redisClusterUrl(REDIS_CLUSTER_PORTS),
      () => probeRedisCluster(redisClusterUrl(REDIS_CLUSTER_PORTS)),
    ],
  ];
  return Promise.all(
    checks.map(async ([name, endpoint, probe]) => {
      const pid = readPid(name);
      return {
        name,
        endpoint,
        answering: await probe().then(
          () => true,
          () => false,
        ),
        managedPid: pid && isAlive(pid) ? pid : null,
        log: `${logDir}/${name}.log`,
      };
    }),
  );
}
