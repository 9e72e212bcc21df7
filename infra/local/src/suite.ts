import { ensureKafka, ensureMongo, ensureRedis, stopPostgres, type Provisioned } from './servers.js';
import { ensureTopics, type TopicSpec } from './topics.js';
import { isAlive, readPid, stopDaemon } from './process.js';
import { probeKafka, probeMongo, probeRedis } from './probes.js';
import { logDir } from './paths.js';

export interface InfraPorts {
  redis: number;
  kafka: number;
  mongo: number;
}

export const defaultPorts: InfraPorts = { redis: 6379, kafka: 9092, mongo: 27017 };

export interface InfraEndpoints {
  redisUrl: string;
  kafkaBrokers: string[];
  mongoUrl: string;
  servers: Provisioned[];
}

/** Brings up (or reuses) Redis, Kafka and a MongoDB-wire server on loopback, plus topics. */
export async function infraUp(ports: InfraPorts = defaultPorts, topics: TopicSpec[] = []): Promise<InfraEndpoints> {
  // Kafka takes longest; the others start while the JVM boots.
  const [redis, kafka, mongo] = await Promise.all([ensureRedis(ports.redis), ensureKafka(ports.kafka), ensureMongo(ports.mongo)]);
  if (topics.length > 0) await ensureTopics([kafka.url], topics);
  return { redisUrl: redis.url, kafkaBrokers: [kafka.url], mongoUrl: mongo.url, servers: [redis, kafka, mongo] };
}

/** Stops the servers this project started (never ones it found already running). */
export async function infraDown(): Promise<string[]> {
  const stopped: string[] = [];
  for (const name of ['kafka', 'mongo', 'redis']) {
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
    ['redis', `redis://127.0.0.1:${ports.redis}`, () => probeRedis(`redis://127.0.0.1:${ports.redis}`)],
    ['kafka', `127.0.0.1:${ports.kafka}`, () => probeKafka([`127.0.0.1:${ports.kafka}`])],
    ['mongo', `mongodb://127.0.0.1:${ports.mongo}`, () => probeMongo(`mongodb://127.0.0.1:${ports.mongo}`)],
  ];
  return Promise.all(
    checks.map(async ([name, endpoint, probe]) => {
      const pid = readPid(name);
      return {
        name,
        endpoint,
        answering: await probe().then(() => true, () => false),
        managedPid: pid && isAlive(pid) ? pid : null,
        log: `${logDir}/${name}.log`,
      };
    }),
  );
}
