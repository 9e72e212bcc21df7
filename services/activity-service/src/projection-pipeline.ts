import type { Kafka } from 'kafkajs';
import type { RedisClient } from '@suite/redis';
import type { Registry } from 'prom-client';
import { Topics } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import { createRedis, isCluster } from '@suite/redis';
import { eventTimeWindow, type ActivityConfig } from './config.js';
import { ActivityTransactions, type LiveMode } from './data-access/activity.transaction.js';
import { InboxTransactions } from './data-access/inbox.transaction.js';
import { kafkaLogOffsets } from './data-access/kafka.js';
import { ProjectionState, type ProjectionCondition } from './data-access/projection.state.js';
import { UsersEventsScript } from './data-access/users-events.script.js';
import { ProjectionKeeper } from './domain/projection-keeper.js';
import type { LogOffsets } from './data-access/consumer.port.js';
import { InboxRouter } from './consumer/inbox-router.js';
import { KafkajsConsumer } from './consumer/kafkajs.consumer.js';
import { Projector } from './consumer/projector.js';

export interface ProjectionPipeline {
  topics: string[];
  state: ProjectionState;
  keeper: ProjectionKeeper;
  projector: Projector;
  consumer: KafkajsConsumer;
  /** After the consumer stopped: closes the partition connections, the DLQ producer, the router's producers and the admin clients. */
  close(): Promise<void>;
}

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

/** How the steps publish live: on a cluster a PUBLISH goes to every node, SPUBLISH only to the channel's shard. */
function liveMode(config: ActivityConfig, redis: RedisClient, publishLive: boolean): LiveMode {
  if (!publishLive) return 'off';
  return config.PUBSUB_SHARDED || isCluster(redis) ? 'spublish' : 'publish';
}

/**
 * The per-user steps of activities and of inbox records, on the steps' own client (`writer`).
 * Without auto-pipelining: with it the projected consumer fell from 0.96x to 0.74x the naive one
 * (bench:activity, 200k events): a chunk's steps are large already.
 */
function stepWriters(config: ActivityConfig, writer: RedisClient, live: LiveMode) {
  const prefix = config.REDIS_KEY_PREFIX;
  // A failed first connect is logged by the client, which keeps reconnecting; steps fail until it is ready.
  const connected = writer.connect().catch(() => undefined);
  const transactions = new ActivityTransactions(writer, connected, prefix, {
    feedCap: config.FEED_MAX_ITEMS,
    dedupWindowMs: config.DEDUP_WINDOW_S * 1000,
    workspaceCap: config.WORKSPACES_PER_USER_MAX,
    dedupMaxIds: config.DEDUP_MAX_IDS_PER_USER,
    live,
  });
  const inbox = new InboxTransactions(writer, connected, prefix, {
    maxItems: config.INBOX_MAX_ITEMS,
    maxAgeMs: config.INBOX_MAX_AGE_DAYS * 86_400_000,
    live,
  });
  return { transactions, inbox };
}

/** The consumer of the projection's topics, in the projection's group. */
function projectionConsumer(
  config: ActivityConfig,
  kafka: Kafka,
  topics: string[],
  logger: Logger,
): KafkajsConsumer {
  const options = {
    groupId: config.KAFKA_GROUP_ID,
    topics,
    concurrency: config.CONSUMER_CONCURRENCY,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
  };
  return new KafkajsConsumer(kafka, options, logger);
}

/** The inbox router of the projection consumer's `activity.events` batches. */
function inboxRouter(
  config: ActivityConfig,
  kafka: Kafka,
  redis: RedisClient,
  logOffsets: LogOffsets,
  keeper: ProjectionKeeper,
  logger: Logger,
  registry: Registry,
): InboxRouter {
  const source = `${config.KAFKA_TOPIC_PREFIX}${Topics.activityEvents}`;
  return new InboxRouter(
    kafka,
    redis,
    config.REDIS_KEY_PREFIX,
    logOffsets,
    {
      groupId: `${config.KAFKA_GROUP_ID}-inbox-router`,
      source,
      target: `${config.KAFKA_TOPIC_PREFIX}${Topics.inboxEvents}`,
      ready: () => accessReplicaWhole(keeper.condition),
      refetch: (partition, offset) => keeper.refetch({ topic: source, partition }, offset),
    },
    logger,
    registry,
  );
}

/**
 * Everything that turns the topics into projections: the consumer, the projector with its
 * steps and script, and the keeper that heals. The service and the rebuild command build
 * it the same way; the rebuild publishes nothing live.
 */
export function createProjectionPipeline(
  config: ActivityConfig,
  kafka: Kafka,
  redis: RedisClient,
  logger: Logger,
  registry: Registry,
  options: { name: string; publishLive: boolean; route: boolean },
): ProjectionPipeline {
  const prefix = config.REDIS_KEY_PREFIX;
  const topics = [Topics.activityEvents, Topics.usersEvents, Topics.inboxEvents].map(
    (t) => `${config.KAFKA_TOPIC_PREFIX}${t}`,
  );
  const live = liveMode(config, redis, options.publishLive);
  const writer = createRedis(config.REDIS_URL, logger, `${options.name}-writes`);
  const { transactions, inbox } = stepWriters(config, writer, live);
  const logOffsets = kafkaLogOffsets(kafka);
  const state = new ProjectionState(
    redis,
    prefix,
    `${config.KAFKA_TOPIC_PREFIX}${Topics.usersEvents}`,
  );
  const keeper = new ProjectionKeeper(state, logOffsets, topics, logger, registry);
  const dlqProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  // The inbox router routes from the consumer's batches; a rebuild (`route: false`) never routes.
  const router = options.route
    ? inboxRouter(config, kafka, redis, logOffsets, keeper, logger, registry)
    : undefined;
  const projector = new Projector(
    transactions,
    new UsersEventsScript(redis, prefix, live),
    inbox,
    keeper,
    dlqProducer,
    logger,
    registry,
    {
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      timeWindow: eventTimeWindow(config),
      usersEventsKeys: [config.USERS_EVENTS_SIGNING_KEY, ...config.USERS_EVENTS_PREVIOUS_KEYS],
      usersEventsUnsignedBefore: config.USERS_EVENTS_UNSIGNED_BEFORE,
      router,
    },
  );
  const consumer = projectionConsumer(config, kafka, topics, logger);
  return {
    topics,
    state,
    keeper,
    projector,
    consumer,
    async close() {
      writer.disconnect();
      await Promise.all([dlqProducer.disconnect(), router?.stop()]);
      await logOffsets.close();
    },
  };
}
