import type { Express } from 'express';
import { kafkaSecurity } from '@suite/config';
import { authSettingsFrom, createTokenVerifier } from '@suite/auth';
import { createLogger, type Logger } from '@suite/logger';
import { startTracing } from '@suite/telemetry';
import { ActivityPublisher } from '@suite/publisher';
import { createHttpApp, createMetrics, listen, Readiness, type RunningServer } from '@suite/server-kit';
import type { ActivityConfig } from './config.js';
import { KafkajsConsumer } from './consumer/kafkajs.consumer.js';
import { Projector } from './consumer/projector.js';
import { FeedRepository } from './data-access/feed.repository.js';
import { createKafka, kafkaProbe } from './data-access/kafka.js';
import { LayoutMismatchError, ProjectionStore } from './data-access/projection.store.js';
import { createRedis } from '@suite/redis';
import { activityReads } from './domain/activity-reads.js';
import { activityRouter } from './http/activity.router.js';

export const SERVICE_NAME = 'activity-service';
export const SERVICE_VERSION = '0.1.0';

export interface ActivityService {
  app: Express;
  logger: Logger;
  /** Connects Redis and starts the projection consumer (unless disabled). */
  start(): Promise<void>;
  listen(port?: number, host?: string): Promise<RunningServer>;
  /** Fails readiness, drains HTTP, finishes the batch in flight, leaves the group, closes clients. */
  stop(): Promise<void>;
}

/** Builds the service from its config; nothing listens until `listen`. */
export async function createActivityService(config: ActivityConfig, logger?: Logger): Promise<ActivityService> {
  const log = logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
  const tracing = startTracing(SERVICE_NAME, { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, sampleRatio: config.OTEL_TRACES_SAMPLER_ARG });
  const verifier = await createTokenVerifier(authSettingsFrom(config));
  const redis = createRedis(config.REDIS_URL, log, SERVICE_NAME);
  const kafka = createKafka(config.KAFKA_CLIENT_ID, config.KAFKA_BROKERS, kafkaSecurity(config));
  const kafkaReady = kafkaProbe(kafka);
  const metrics = createMetrics(SERVICE_NAME);
  const publisher = new ActivityPublisher({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-ingest`, topicPrefix: config.KAFKA_TOPIC_PREFIX, ...kafkaSecurity(config) });
  const store = new ProjectionStore(redis, config.REDIS_KEY_PREFIX, { feedCap: config.FEED_MAX_ITEMS, dedupWindowMs: config.DEDUP_WINDOW_S * 1000, shardedPubSub: config.PUBSUB_SHARDED });
  const dlqProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const projector = new Projector(store, dlqProducer, log, metrics.registry, { topicPrefix: config.KAFKA_TOPIC_PREFIX, publishLive: config.PUBLISH_LIVE });
  const consumer = new KafkajsConsumer(
    kafka,
    { groupId: config.KAFKA_GROUP_ID, topics: [projector.activityTopic, projector.usersTopic], concurrency: config.CONSUMER_CONCURRENCY, sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS },
    log,
  );
  const reads = activityReads(new FeedRepository(redis, config.REDIS_KEY_PREFIX));
  const readiness = new Readiness({
    redis: async () => {
      await redis.ping();
    },
    kafka: kafkaReady.check,
    ...(config.CONSUMER_ENABLED
      ? {
          consumer: async () => {
            if (layoutProblem) throw new Error(layoutProblem);
            if (!consumerRunning) throw new Error('the projection consumer has not joined its group yet');
            if (!consumer.healthy()) throw new Error('the projection consumer stopped after a fatal error');
          },
        }
      : {}),
  });
  const app = createHttpApp({
    logger: log,
    metrics,
    readiness,
    api: [activityRouter(verifier, reads, publisher, { maxActiveDays: config.ACTIVE_WORKSPACES_MAX_DAYS })],
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
  });
  let server: RunningServer | undefined;
  let consumerRunning = false;
  let layoutProblem: string | undefined;
  let stopping = false;

  /** Joins the group, retrying with backoff while Kafka is unreachable (readiness says so meanwhile). */
  async function startConsumer(attempt = 1): Promise<void> {
    try {
      await store.claimLayout();
      await consumer.start(projector);
      consumerRunning = true;
    } catch (err) {
      if (stopping) return;
      if (err instanceof LayoutMismatchError) {
        // Not retried: applying this version's writes to another layout would corrupt it.
        layoutProblem = err.message;
        log.error({ err }, 'projection consumer not started');
        return;
      }
      log.warn({ err, attempt }, 'projection consumer could not start; retrying');
      await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** attempt, 15_000)));
      if (!stopping) return startConsumer(attempt + 1);
    }
  }

  return {
    app,
    logger: log,
    async start() {
      await redis.connect().catch((err: unknown) => log.warn({ err }, 'redis not reachable yet; will retry'));
      if (config.CONSUMER_ENABLED) void startConsumer();
    },
    async listen(port = config.PORT, host = config.HOST) {
      server = await listen(app, port, host);
      log.info({ url: server.url }, 'listening');
      return server;
    },
    async stop() {
      stopping = true;
      readiness.drain();
      await server?.close(config.SHUTDOWN_GRACE_MS);
      if (config.CONSUMER_ENABLED) await consumer.stop();
      await Promise.all([publisher.close(), dlqProducer.disconnect(), kafkaReady.close()]);
      redis.disconnect();
      await tracing.shutdown();
    },
  };
}
