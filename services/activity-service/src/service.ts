import { kafkaSecurity } from '@suite/config';
import { backoffMs, AppError, routesOf } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import { ActivityPublisher } from '@suite/publisher';
import { createService, NotReady, packageVersion, rateLimitsFrom, type Service } from '@suite/server-kit';
import { ProjectionReader } from '@suite/projection-reader';
import { createRedis, isRedisUnavailable } from '@suite/redis';
import { Counter } from 'prom-client';
import { eventTimeWindow, type ActivityConfig } from './config.js';
import { createProjectionPipeline } from './consumer/projection-pipeline.js';
import { createKafka, kafkaProbe, topicsOnProducerTime } from './data-access/kafka.js';
import { LayoutMismatchError } from './data-access/projection.state.js';
import { activityReads } from './domain/activity-reads.js';
import { activityRouter } from './http/activity.router.js';
import { inboxRouter } from './http/inbox.router.js';
import { InboxRouter } from './consumer/inbox-router.js';
import { InboxStore } from './data-access/inbox.store.js';
import { inboxUseCases } from './domain/inbox.js';

/** How often the projections' condition is checked (and idle partitions are healed). */
const KEEPER_INTERVAL_MS = 500;

/** How long an HTTP read waits for Redis before answering 503. */
const READ_TIMEOUT_MS = 2000;

export const SERVICE_NAME = 'activity-service';
export const SERVICE_VERSION = packageVersion(import.meta.url);

/** The activity-service; `start` connects Redis and starts the projection consumer (unless disabled), `stop` drains HTTP, finishes the batch in flight, leaves the group, closes clients. */
export type ActivityService = Service;

/** Builds the service from its config; nothing listens until `listen`. */
export async function createActivityService(config: ActivityConfig, logger?: Logger): Promise<ActivityService> {
  return createService({ name: SERVICE_NAME, version: SERVICE_VERSION }, config, logger, ({ log, metrics, verifier }) => {
    const redis = createRedis(config.REDIS_URL, log, SERVICE_NAME, { autoPipelining: true });
    // HTTP reads have their own connection with a reply deadline: a hung Redis answers 503 within it,
    // while the projection's own scripts (rebuild, deletions) may run longer on theirs.
    const readRedis = createRedis(config.REDIS_URL, log, `${SERVICE_NAME}-reads`, { autoPipelining: true, commandTimeoutMs: READ_TIMEOUT_MS });
    const kafka = createKafka(config.KAFKA_CLIENT_ID, config.KAFKA_BROKERS, kafkaSecurity(config));
    const kafkaReady = kafkaProbe(kafka);
    const publisher = new ActivityPublisher({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-ingest`, topicPrefix: config.KAFKA_TOPIC_PREFIX, ...kafkaSecurity(config) });
    const pipeline = createProjectionPipeline(config, kafka, redis, log, metrics.registry, { name: SERVICE_NAME, publishLive: config.PUBLISH_LIVE });
    const { keeper, consumer, projector } = pipeline;
    if (config.CONSUMER_ENABLED) keeper.attach(consumer);
    const feedPages = new Counter({ name: 'activity_feed_pages_total', help: 'Feed pages read, by way: tail (one LRANGE where the log is in order) or blocks (the script, where late events are)', labelNames: ['path'], registers: [metrics.registry] });
    const inboxStore = new InboxStore(readRedis, kafka, config.REDIS_KEY_PREFIX, config.KAFKA_TOPIC_PREFIX);
    const inbox = inboxUseCases(inboxStore, { markWaitMs: config.INBOX_MARK_WAIT_MS });
    const routerEnabled = config.CONSUMER_ENABLED && config.INBOX_ROUTER_ENABLED;
    const router = new InboxRouter(
      kafka,
      redis,
      config.REDIS_KEY_PREFIX,
      { groupId: `${config.KAFKA_GROUP_ID}-inbox-router`, topicPrefix: config.KAFKA_TOPIC_PREFIX, timeWindow: eventTimeWindow(config), sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS, ready: () => keeper.condition?.state === 'ready' },
      log,
      metrics.registry,
    );
    let routerRunning = false;
    const reads = activityReads(new ProjectionReader(readRedis, config.REDIS_KEY_PREFIX, (path) => feedPages.inc({ path })));
    let consumerRunning = false;
    let stopping = false;
    let keeperTimer: NodeJS.Timeout | undefined;
    let keeperFailing = false;
    /** Why the consumer will not run at all (topics on producer time); the pod restarts until an operator acts. */
    let refused: string | undefined;

    /** Why reads cannot be answered now (the projections are being rebuilt, lost, or in another layout). */
    const unavailable = (): string | undefined => {
      const condition = keeper.condition;
      if (!condition || condition.state === 'ready') return undefined;
      if (condition.state === 'rebuilding') return `the projections are being rebuilt from the log (${condition.remaining} records to go)`;
      if (condition.state === 'lost') return 'the projections are gone from Redis; they are being rebuilt from the log';
      return new LayoutMismatchError(condition.found).message;
    };

    /** One check of the projections' condition; a failure (Redis or Kafka down) is logged once per outage. */
    async function keep(): Promise<void> {
      try {
        await keeper.tick(config.CONSUMER_ENABLED && consumerRunning);
        if (keeperFailing) log.info('projection check recovered');
        keeperFailing = false;
      } catch (err) {
        if (!keeperFailing) log.warn({ err }, 'projection check failed; retrying');
        keeperFailing = true;
      }
    }

    function scheduleKeeper(): void {
      keeperTimer = setTimeout(() => void keep().finally(() => stopping || scheduleKeeper()), KEEPER_INTERVAL_MS);
    }

    /** Joins the group, retrying with backoff while Kafka or Redis is unreachable (readiness says so meanwhile). */
    async function startConsumer(attempt = 1): Promise<void> {
      try {
        // Claims an empty prefix (the consumer then builds the projections from the log) before joining.
        await keeper.tick(true);
        // Not retried: applying this version's writes to another layout would corrupt it; readiness says why.
        if (keeper.condition?.state === 'foreign') return;
        const onProducerTime = config.KAFKA_ALLOW_CREATE_TIME ? [] : await topicsOnProducerTime(kafka, pipeline.topics);
        if (onProducerTime.length > 0) {
          refused = `topics ${onProducerTime.join(', ')} use the producer's clock (message.timestamp.type=CreateTime): set them to LogAppendTime, or accept that publishers' clocks move the time and dedup windows with KAFKA_ALLOW_CREATE_TIME=true`;
          log.error({ topics: onProducerTime }, refused);
          return;
        }
        await consumer.start(projector);
        consumerRunning = true;
        if (routerEnabled) {
          await router.start();
          routerRunning = true;
        }
      } catch (err) {
        if (stopping) return;
        log.warn({ err, attempt }, 'projection consumer could not start; retrying');
        await new Promise((r) => setTimeout(r, backoffMs(attempt, 500, 15_000)));
        if (!stopping) return startConsumer(attempt + 1);
      }
    }

    return {
      http: {
        api: [activityRouter(verifier, reads, publisher, { unavailable, timeWindow: eventTimeWindow(config) }), inboxRouter(verifier, inbox, unavailable)],
        routes: routesOf('activity'),
        rateLimits: rateLimitsFrom(config, readRedis),
        mapError: (err) => (isRedisUnavailable(err) ? new AppError('unavailable', 'the activity store is unavailable; try again shortly') : undefined),
        bodyLimit: config.BODY_LIMIT,
        // A consumer kafkajs gave up on never comes back by itself: /healthz fails, the pod restarts.
        liveness: () => refused ?? (config.CONSUMER_ENABLED && consumerRunning && !consumer.healthy() ? 'the projection consumer stopped after a fatal error' : undefined),
      },
      checks: {
        redis: async () => {
          await redis.ping();
        },
        kafka: kafkaReady.check,
        projections: async () => {
          if (!keeper.condition) throw new NotReady('the projections have not been checked yet');
          const problem = unavailable();
          if (problem) throw new NotReady(problem);
        },
        ...(config.CONSUMER_ENABLED
          ? {
              consumer: async () => {
                if (refused) throw new NotReady(refused);
                if (!consumerRunning) throw new NotReady('the projection consumer has not joined its group yet');
                if (!consumer.healthy()) throw new NotReady('the projection consumer stopped after a fatal error');
                if (routerEnabled && !routerRunning) throw new NotReady('the inbox router has not joined its group yet');
                if (routerEnabled && !router.healthy()) throw new NotReady('the inbox router stopped after a fatal error');
              },
            }
          : {}),
      },
      async start() {
        await redis.connect().catch((err: unknown) => log.warn({ err }, 'redis not reachable yet; will retry'));
        await readRedis.connect().catch(() => undefined); // reconnects on its own like the other
        await keep();
        scheduleKeeper();
        if (config.CONSUMER_ENABLED) void startConsumer();
      },
      async beforeDrain() {
        stopping = true;
      },
      async afterDrain() {
        clearTimeout(keeperTimer);
        if (config.CONSUMER_ENABLED) await consumer.stop();
        if (routerRunning) await router.stop();
        await Promise.all([publisher.close(), inboxStore.close(), pipeline.close(), kafkaReady.close()]);
        redis.disconnect();
        readRedis.disconnect();
      },
    };
  });
}
