import type { Kafka } from 'kafkajs';
import type { RedisClient } from '@suite/redis';
import type { Registry } from 'prom-client';
import { Topics } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import { clusterTarget, createRedis } from '@suite/redis';
import { eventTimeWindow, type ActivityConfig } from '../config.js';
import { ActivityTransactions, type LiveMode } from '../data-access/activity.transaction.js';
import { kafkaLogOffsets } from '../data-access/kafka.js';
import { PartitionConnections } from '../data-access/partition-connections.js';
import { ProjectionState } from '../data-access/projection.state.js';
import { UsersEventsScript } from '../data-access/users-events.script.js';
import { ProjectionKeeper } from '../domain/projection-keeper.js';
import { KafkajsConsumer } from './kafkajs.consumer.js';
import { Projector } from './projector.js';

export interface ProjectionPipeline {
  topics: string[];
  state: ProjectionState;
  keeper: ProjectionKeeper;
  projector: Projector;
  consumer: KafkajsConsumer;
  /** After the consumer stopped: closes the partition connections, the DLQ producer and the admin client. */
  close(): Promise<void>;
}

/**
 * Everything that turns the topics into projections: the consumer, the projector with its
 * transactions and script, and the keeper that heals. The service and the rebuild command build
 * it the same way; the rebuild publishes nothing live.
 */
export function createProjectionPipeline(config: ActivityConfig, kafka: Kafka, redis: RedisClient, logger: Logger, registry: Registry, options: { name: string; publishLive: boolean }): ProjectionPipeline {
  const prefix = config.REDIS_KEY_PREFIX;
  // A chunk's transaction spans many users' slots: refused by a cluster (docs/activity-service.md "Redis Cluster").
  if (clusterTarget(config.REDIS_URL)) throw new Error('REDIS_URL names a Redis Cluster: the activity-service projections need one Redis primary for now (docs/activity-service.md, "Redis Cluster"); the gateway and the rate limits run on a cluster');
  const topics = [Topics.activityEvents, Topics.usersEvents].map((t) => `${config.KAFKA_TOPIC_PREFIX}${t}`);
  const live: LiveMode = !options.publishLive ? 'off' : config.PUBSUB_SHARDED ? 'spublish' : 'publish';
  const connections = new PartitionConnections((partition) => createRedis(config.REDIS_URL, logger, `${options.name}-tx-${partition}`, { transactional: true }));
  const transactions = new ActivityTransactions(connections, prefix, { feedCap: config.FEED_MAX_ITEMS, dedupWindowMs: config.DEDUP_WINDOW_S * 1000, workspaceCap: config.WORKSPACES_PER_USER_MAX, dedupMaxIds: config.DEDUP_MAX_IDS_PER_USER, live });
  const logOffsets = kafkaLogOffsets(kafka);
  const state = new ProjectionState(redis, prefix);
  const keeper = new ProjectionKeeper(state, redis, logOffsets, topics, logger, registry);
  const dlqProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const projector = new Projector(transactions, new UsersEventsScript(redis, prefix, live), keeper, dlqProducer, logger, registry, { topicPrefix: config.KAFKA_TOPIC_PREFIX, timeWindow: eventTimeWindow(config), usersEventsKeys: [config.USERS_EVENTS_SIGNING_KEY, ...config.USERS_EVENTS_PREVIOUS_KEYS], usersEventsUnsignedBefore: config.USERS_EVENTS_UNSIGNED_BEFORE });
  const consumer = new KafkajsConsumer(kafka, { groupId: config.KAFKA_GROUP_ID, topics, concurrency: config.CONSUMER_CONCURRENCY, sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS }, logger);
  return {
    topics,
    state,
    keeper,
    projector,
    consumer,
    async close() {
      connections.close();
      await Promise.all([dlqProducer.disconnect(), logOffsets.close()]);
    },
  };
}
