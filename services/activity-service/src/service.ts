import { kafkaSecurity } from '@suite/config';
import { AppError, routesOf } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import { ActivityPublisher } from '@suite/publisher';
import {
  createService,
  packageVersion,
  rateLimitsFrom,
  type Service,
  type ServiceKit,
  type ServiceParts,
  warnUnreachable,
} from '@suite/server-kit';
import { ProjectionReader } from '@suite/projection-reader';
import { createRedis, isRedisUnavailable, type RedisClient } from '@suite/redis';
import { Counter, type Registry } from 'prom-client';
import { eventTimeWindow, type ActivityConfig } from './config.js';
import { createProjectionPipeline } from './projection-pipeline.js';
import { createKafka, kafkaProbe } from './data-access/kafka.js';
import { ProjectionRunner } from './projection-runner.js';
import { activityReads } from './domain/activity-reads.js';
import { activityRouter } from './http/activity.router.js';
import { inboxRouter } from './http/inbox.router.js';
import { InboxStore } from './data-access/inbox.store.js';
import { inboxUseCases } from './domain/inbox.js';

/** How long an HTTP read waits for Redis before answering 503. */
const READ_TIMEOUT_MS = 2000;

export const SERVICE_NAME = 'activity-service';
export const SERVICE_VERSION = packageVersion(import.meta.url);

/** The activity-service; `start` connects Redis and starts the projection consumer (unless disabled), `stop` drains HTTP, finishes the batch in flight, leaves the group, closes clients. */
export type ActivityService = Service;

/** The service's clients: Redis for the projection, Redis for HTTP reads, Kafka. */
function clientsOf(config: ActivityConfig, log: Logger) {
  const redis = createRedis(config.REDIS_URL, log, SERVICE_NAME, { autoPipelining: true });
  // HTTP reads have their own connection with a reply deadline: a hung Redis answers 503 within it,
  // while the projection's own scripts (rebuild, deletions) may run longer on theirs.
  const readRedis = createRedis(config.REDIS_URL, log, `${SERVICE_NAME}-reads`, {
    autoPipelining: true,
    commandTimeoutMs: READ_TIMEOUT_MS,
  });
  const kafka = createKafka(config.KAFKA_CLIENT_ID, config.KAFKA_BROKERS, kafkaSecurity(config));
  return { redis, readRedis, kafka };
}

/** The projection pipeline and the inbox router, run together by one runner. */
function projectionsOf(
  config: ActivityConfig,
  { redis, kafka }: ReturnType<typeof clientsOf>,
  log: Logger,
  registry: Registry,
) {
  const pipeline = createProjectionPipeline(config, kafka, redis, log, registry, {
    name: SERVICE_NAME,
    publishLive: config.PUBLISH_LIVE,
    route: config.CONSUMER_ENABLED && config.INBOX_ROUTER_ENABLED,
  });
  return { pipeline, runner: new ProjectionRunner(config, pipeline, kafka, log) };
}

/** The read side: feed pages and counts, the inbox (its marks go through Kafka). */
function readsOf(
  config: ActivityConfig,
  { readRedis, kafka }: ReturnType<typeof clientsOf>,
  registry: Registry,
) {
  const feedPages = new Counter({
    name: 'activity_feed_pages_total',
    help: 'Feed pages read, by way: tail (one LRANGE where the log is in order) or blocks (the script, where late events are)',
    labelNames: ['path'],
    registers: [registry],
  });
  const prefix = config.REDIS_KEY_PREFIX;
  const reads = activityReads(
    new ProjectionReader(readRedis, prefix, (path) => feedPages.inc({ path })),
  );
  const inboxStore = new InboxStore(readRedis, kafka, prefix, config.KAFKA_TOPIC_PREFIX);
  const inbox = inboxUseCases(inboxStore, { markWaitMs: config.INBOX_MARK_WAIT_MS });
  return { reads, inboxStore, inbox };
}

/** The HTTP side: the activity and inbox routers, rate limits, the mapping of Redis outages to 503. */
function httpOf(
  config: ActivityConfig,
  verifier: ServiceKit['verifier'],
  parts: { publisher: ActivityPublisher; runner: ProjectionRunner; readRedis: RedisClient } & Pick<
    ReturnType<typeof readsOf>,
    'reads' | 'inbox'
  >,
): ServiceParts['http'] {
  const unavailable = () => parts.runner.unavailable();
  const timeWindow = eventTimeWindow(config);
  return {
    api: [
      activityRouter(verifier, parts.reads, parts.publisher, { unavailable, timeWindow }),
      inboxRouter(verifier, parts.inbox, unavailable),
    ],
    routes: routesOf('activity'),
    rateLimits: rateLimitsFrom(config, parts.readRedis),
    mapError: (err) =>
      isRedisUnavailable(err)
        ? new AppError('unavailable', 'the activity store is unavailable; try again shortly')
        : undefined,
    bodyLimit: config.BODY_LIMIT,
    // /healthz fails (the pod restarts) when the consumer cannot come back by itself.
    liveness: () => parts.runner.liveness(),
  };
}

/** Builds the service from its config; nothing listens until `listen`. */
export async function createActivityService(
  config: ActivityConfig,
  logger?: Logger,
): Promise<ActivityService> {
  return createService(
    { name: SERVICE_NAME, version: SERVICE_VERSION },
    config,
    logger,
    ({ log, metrics, verifier }) => {
      const clients = clientsOf(config, log);
      const { redis, readRedis, kafka } = clients;
      const kafkaReady = kafkaProbe(kafka);
      const publisher = new ActivityPublisher({
        brokers: config.KAFKA_BROKERS,
        clientId: `${config.KAFKA_CLIENT_ID}-ingest`,
        topicPrefix: config.KAFKA_TOPIC_PREFIX,
        ...kafkaSecurity(config),
      });
      const { pipeline, runner } = projectionsOf(config, clients, log, metrics.registry);
      const { reads, inboxStore, inbox } = readsOf(config, clients, metrics.registry);

      return {
        http: httpOf(config, verifier, { reads, inbox, publisher, runner, readRedis }),
        checks: {
          redis: async () => {
            await redis.ping();
          },
          kafka: kafkaReady.check,
          ...runner.checks(),
        },
        async start() {
          await redis.connect().catch(warnUnreachable(log, 'redis not reachable yet; will retry'));
          await readRedis.connect().catch(() => undefined); // reconnects on its own like the other
          await runner.start();
        },
        async beforeDrain() {
          runner.stopStarting();
        },
        async afterDrain() {
          await runner.stop();
          await Promise.all([
            publisher.close(),
            inboxStore.close(),
            pipeline.close(),
            kafkaReady.close(),
          ]);
          redis.disconnect();
          readRedis.disconnect();
        },
      };
    },
  );
}
