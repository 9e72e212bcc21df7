import { kafkaSecurity } from '@suite/config';
import { AppError, routesOf } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import { ActivityPublisher } from '@suite/publisher';
import { createService, packageVersion, rateLimitsFrom, type Service } from '@suite/server-kit';
import { ProjectionReader } from '@suite/projection-reader';
import { createRedis, isRedisUnavailable } from '@suite/redis';
import { Counter } from 'prom-client';
import { eventTimeWindow, type ActivityConfig } from './config.js';
import { createProjectionPipeline } from './projection-pipeline.js';
import { createKafka, kafkaProbe } from './data-access/kafka.js';
import { ProjectionRunner } from './projection-runner.js';
import type { ProjectionCondition } from './data-access/projection.state.js';
import { activityReads } from './domain/activity-reads.js';
import { activityRouter } from './http/activity.router.js';
import { inboxRouter } from './http/inbox.router.js';
import { InboxRouter } from './consumer/inbox-router.js';
import { InboxStore } from './data-access/inbox.store.js';
import { inboxUseCases } from './domain/inbox.js';

/** How long an HTTP read waits for Redis before answering 503. */
const READ_TIMEOUT_MS = 2000;

export const SERVICE_NAME = 'activity-service';
export const SERVICE_VERSION = packageVersion(import.meta.url);

/** The activity-service; `start` connects Redis and starts the projection consumer (unless disabled), `stop` drains HTTP, finishes the batch in flight, leaves the group, closes clients. */
export type ActivityService = Service;

/**
 * Whether the router may decide who has access: the access replica (users.events) is whole. A
 * rebuild replays users.events alongside the activities; once its partitions reached their targets
 * the replica says what it says when everything is ready, and the router need not wait for the
 * activity feeds (which it does not read).
 */
function accessReplicaWhole(condition: ProjectionCondition | undefined): boolean {
  return (
    condition?.state === 'ready' || (condition?.state === 'rebuilding' && condition.accessWhole)
  );
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
      const redis = createRedis(config.REDIS_URL, log, SERVICE_NAME, { autoPipelining: true });
      // HTTP reads have their own connection with a reply deadline: a hung Redis answers 503 within it,
      // while the projection's own scripts (rebuild, deletions) may run longer on theirs.
      const readRedis = createRedis(config.REDIS_URL, log, `${SERVICE_NAME}-reads`, {
        autoPipelining: true,
        commandTimeoutMs: READ_TIMEOUT_MS,
      });
      const kafka = createKafka(
        config.KAFKA_CLIENT_ID,
        config.KAFKA_BROKERS,
        kafkaSecurity(config),
      );
      const kafkaReady = kafkaProbe(kafka);
      const publisher = new ActivityPublisher({
        brokers: config.KAFKA_BROKERS,
        clientId: `${config.KAFKA_CLIENT_ID}-ingest`,
        topicPrefix: config.KAFKA_TOPIC_PREFIX,
        ...kafkaSecurity(config),
      });
      const pipeline = createProjectionPipeline(config, kafka, redis, log, metrics.registry, {
        name: SERVICE_NAME,
        publishLive: config.PUBLISH_LIVE,
      });
      const routerOptions = {
        groupId: `${config.KAFKA_GROUP_ID}-inbox-router`,
        topicPrefix: config.KAFKA_TOPIC_PREFIX,
        timeWindow: eventTimeWindow(config),
        sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
        ready: () => accessReplicaWhole(pipeline.keeper.condition),
      };
      const runner = new ProjectionRunner(
        config,
        pipeline,
        new InboxRouter(
          kafka,
          redis,
          config.REDIS_KEY_PREFIX,
          routerOptions,
          log,
          metrics.registry,
        ),
        kafka,
        log,
      );
      const unavailable = () => runner.unavailable();
      const feedPages = new Counter({
        name: 'activity_feed_pages_total',
        help: 'Feed pages read, by way: tail (one LRANGE where the log is in order) or blocks (the script, where late events are)',
        labelNames: ['path'],
        registers: [metrics.registry],
      });
      const reads = activityReads(
        new ProjectionReader(readRedis, config.REDIS_KEY_PREFIX, (path) => feedPages.inc({ path })),
      );
      const inboxStore = new InboxStore(
        readRedis,
        kafka,
        config.REDIS_KEY_PREFIX,
        config.KAFKA_TOPIC_PREFIX,
      );
      const inbox = inboxUseCases(inboxStore, { markWaitMs: config.INBOX_MARK_WAIT_MS });

      return {
        http: {
          api: [
            activityRouter(verifier, reads, publisher, {
              unavailable,
              timeWindow: eventTimeWindow(config),
            }),
            inboxRouter(verifier, inbox, unavailable),
          ],
          routes: routesOf('activity'),
          rateLimits: rateLimitsFrom(config, readRedis),
          mapError: (err) =>
            isRedisUnavailable(err)
              ? new AppError('unavailable', 'the activity store is unavailable; try again shortly')
              : undefined,
          bodyLimit: config.BODY_LIMIT,
          // /healthz fails (the pod restarts) when the consumer cannot come back by itself.
          liveness: () => runner.liveness(),
        },
        checks: {
          redis: async () => {
            await redis.ping();
          },
          kafka: kafkaReady.check,
          ...runner.checks(),
        },
        async start() {
          await redis
            .connect()
            .catch((err: unknown) => log.warn({ err }, 'redis not reachable yet; will retry'));
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
