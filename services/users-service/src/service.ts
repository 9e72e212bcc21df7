import { kafkaSecurity } from '@suite/config';
import { backoffMs, routesOf, Topics } from '@suite/contracts';
import { createRedis } from '@suite/redis';
import type { Logger } from '@suite/logger';
import {
  createService,
  NotReady,
  packageVersion,
  RATE_LIMIT_TIMEOUT_MS,
  rateLimitsFrom,
  type Service,
  warnUnreachable,
} from '@suite/server-kit';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { UsersConfig } from './config.js';
import { AccessRepository } from './data-access/access.repository.js';
import { createMongo, mapMongoError } from './data-access/mongo.js';
import { revocationStore } from './data-access/revocations.js';
import { UsersRepository } from './data-access/users.repository.js';
import { Directory, directoryKeys } from './directory/directory.js';
import { DirectoryFollower } from './directory/follower.js';
import { accessUseCases } from './domain/access.use-cases.js';
import { usersUseCases } from './domain/users.use-cases.js';
import { accessRouter } from './http/access.router.js';
import { openApiRouter } from './http/openapi.router.js';
import { usersRouter } from './http/users.router.js';
import { OutboxRelay } from './relay/outbox.relay.js';

export const SERVICE_NAME = 'users-service';
export const SERVICE_VERSION = packageVersion(import.meta.url);

/** The users-service; `start` creates indexes and starts the outbox relay, `stop` drains HTTP, finishes the relay pass, closes clients. */
export type UsersService = Service;

/** Creates the indexes the repositories need, retrying while the database is not up yet; readiness waits for them. */
function indexCreator(repositories: { ensureIndexes(): Promise<void> }[], log: Logger) {
  let ready = false;
  let stopping = false;
  async function ensure(attempt = 1): Promise<void> {
    if (stopping) return;
    try {
      await Promise.all(repositories.map((r) => r.ensureIndexes()));
      ready = true;
    } catch (err) {
      // The database may come up after us; keep trying (readiness stays honest meanwhile).
      log.warn({ err, attempt }, 'could not create indexes yet; retrying');
      await new Promise((r) => setTimeout(r, backoffMs(attempt, 500, 10_000)));
      return ensure(attempt + 1);
    }
  }
  return { ensure, ready: () => ready, stop: () => void (stopping = true) };
}

/** The service's clients: MongoDB with the repositories, Kafka with the relay's producer, Redis twice. */
function clientsOf(config: UsersConfig, log: Logger) {
  const mongo = createMongo(config.MONGO_URL, config.MONGO_DB, config.MONGO_QUERY_TIMEOUT_MS);
  const usersRepo = new UsersRepository(mongo.db, config.MONGO_QUERY_TIMEOUT_MS);
  const accessRepo = new AccessRepository(mongo.db, config.MONGO_QUERY_TIMEOUT_MS);
  const kafka = new Kafka({
    clientId: config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    ...kafkaSecurity(config),
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  // Rate-limit budgets and revocations: a short deadline, and readiness does not depend on it (the limiter falls back to memory).
  const redis = createRedis(config.REDIS_URL, log, `${SERVICE_NAME}-rate-limits`, {
    commandTimeoutMs: RATE_LIMIT_TIMEOUT_MS,
  });
  // The directory: list, search and get read it, so it has its own client with the usual deadline (and readiness depends on it).
  const directoryRedis = createRedis(config.REDIS_URL, log, `${SERVICE_NAME}-directory`, {
    autoPipelining: true,
  });
  return { mongo, usersRepo, accessRepo, kafka, producer, redis, directoryRedis };
}
type Clients = ReturnType<typeof clientsOf>;

/** The outbox relay and the directory follower: what runs beside the HTTP side. */
function backgroundOf(config: UsersConfig, clients: Clients, log: Logger, registry: Registry) {
  const { usersRepo, accessRepo, producer, kafka } = clients;
  const relay = new OutboxRelay(usersRepo, accessRepo, producer, log, registry, {
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    originKey: config.USERS_EVENTS_SIGNING_KEY,
    sweepIntervalMs: config.OUTBOX_SWEEP_INTERVAL_MS,
    batchSize: config.OUTBOX_BATCH_SIZE,
  });
  const revoke = revocationStore(clients.redis, config.REDIS_KEY_PREFIX, log);
  const directory = new Directory(clients.directoryRedis, directoryKeys(config.REDIS_KEY_PREFIX));
  const follower = new DirectoryFollower(
    directory,
    usersRepo,
    kafka,
    `${config.KAFKA_TOPIC_PREFIX}${Topics.usersEvents}`,
    `${config.KAFKA_TOPIC_PREFIX}users-service-directory`,
    log,
    revoke,
  );
  return { relay, revoke, follower };
}

/** Ready when MongoDB answers, the indexes exist (unique usernames rest on them) and the directory is built. */
function checksOf(
  clients: Clients,
  indexes: ReturnType<typeof indexCreator>,
  follower: DirectoryFollower,
) {
  return {
    mongo: () => clients.mongo.db.command({ ping: 1, maxTimeMS: 1500 }).then(() => undefined),
    indexes: async () => {
      if (!indexes.ready()) throw new NotReady('indexes not created yet');
    },
    directory: async () => {
      if (!follower.ready)
        throw new NotReady('the directory is not built yet (or Redis is unreachable)');
    },
  };
}

/**
 * Connects what the service needs and starts the background work; serves without waiting for ever:
 * the database may come up later (readiness says so).
 */
async function startAll(
  config: UsersConfig,
  clients: Clients,
  {
    indexes,
    follower,
    relay,
  }: Pick<ReturnType<typeof backgroundOf>, 'follower' | 'relay'> & {
    indexes: ReturnType<typeof indexCreator>;
  },
  log: Logger,
): Promise<void> {
  const warn = (message: string) => warnUnreachable(log, message);
  clients.redis
    .connect()
    .catch(warn('redis not reachable yet; rate limits count in memory meanwhile'));
  // The follower's first look at the directory waits for the connection (not for ever: it retries).
  await clients.directoryRedis
    .connect()
    .catch(warn('redis not reachable yet; the directory waits for it'));
  const indexing = indexes.ensure();
  follower.start();
  await Promise.race([
    Promise.all([indexing, follower.firstLoad]),
    new Promise((r) => setTimeout(r, 5000).unref()),
  ]);
  if (config.OUTBOX_RELAY_ENABLED) {
    await clients.producer.connect().catch(warn('kafka not reachable yet; the relay will retry'));
    relay.start();
  }
}

/** Builds the service from its config; nothing listens until `listen`. */
export async function createUsersService(
  config: UsersConfig,
  logger?: Logger,
): Promise<UsersService> {
  return createService(
    { name: SERVICE_NAME, version: SERVICE_VERSION },
    config,
    logger,
    ({ log, metrics, verifier }) => {
      const clients = clientsOf(config, log);
      const { mongo, usersRepo, accessRepo, producer, redis, directoryRedis } = clients;
      const { relay, revoke, follower } = backgroundOf(config, clients, log, metrics.registry);
      const kick = (userId?: number) => relay.kick(userId);
      const users = usersUseCases(usersRepo, accessRepo, follower, kick, revoke, log);
      const access = accessUseCases(accessRepo, usersRepo, kick);
      const indexes = indexCreator([usersRepo, accessRepo], log);

      return {
        http: {
          api: [
            openApiRouter(),
            usersRouter(verifier, users, access),
            accessRouter(verifier, access),
          ],
          routes: routesOf('users'),
          bodyLimit: config.BODY_LIMIT,
          mapError: mapMongoError,
          rateLimits: rateLimitsFrom(config, redis),
        },
        checks: checksOf(clients, indexes, follower),
        start: () => startAll(config, clients, { indexes, follower, relay }, log),
        async beforeDrain() {
          indexes.stop();
        },
        async afterDrain() {
          await Promise.all([relay.stop(), follower.stop()]);
          await producer.disconnect().catch(() => undefined);
          await mongo.client.close();
          redis.disconnect();
          directoryRedis.disconnect();
        },
      };
    },
  );
}
