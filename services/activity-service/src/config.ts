import { usersEventsOriginEnv, usersEventsPreviousKeysEnv } from '@suite/auth';
import { env, kafkaSecurityEnv } from '@suite/config';
import { serviceConfig } from '@suite/server-kit';
import { z } from 'zod';
import type { EventTimeWindow } from '@suite/contracts';

/** Every variable activity-service reads (the base ones every service reads, then its own); README lists them. */
const activityConfig = serviceConfig(3002, {
  KAFKA_BROKERS: env.list('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: env.string('activity-service'),
  KAFKA_GROUP_ID: env.string('activity-projector'),
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  ...kafkaSecurityEnv,
  BODY_LIMIT: env.string('1mb'),
  CONSUMER_ENABLED: env.bool(true),
  CONSUMER_CONCURRENCY: env.int(3, 1, 64),
  KAFKA_SESSION_TIMEOUT_MS: env.int(15_000, 6_000, 300_000),
  FEED_MAX_ITEMS: env.int(1000, 1, 100_000),
  DEDUP_WINDOW_S: env.int(7 * 86_400, 60, 365 * 86_400),
  /** Event ids a user's dedup set keeps at most within the window (the newest): a duplicate of an older one counts again. */
  DEDUP_MAX_IDS_PER_USER: env.int(100_000, 100, 10_000_000),
  /** Workspaces whose recency and count each user's stats keep (active-workspaces); past it the least recently active are forgotten. */
  WORKSPACES_PER_USER_MAX: env.int(200, 1, 10_000),
  /** An event whose `time` is older than this when received is refused (HTTP 400) or dead-lettered (Kafka). */
  EVENT_MAX_AGE_S: env.int(30 * 86_400, 60, 10 * 365 * 86_400),
  /** An event whose `time` is further ahead of its reception than this is refused or dead-lettered. */
  EVENT_MAX_AHEAD_S: env.int(300, 0, 86_400),
  /**
   * Consume topics whose records carry their producer's clock (CreateTime). Off by default: the
   * consumer refuses to start on them, since any producer could then move the time window and the
   * dedup clock (docs/operations.md "Broker time").
   */
  KAFKA_ALLOW_CREATE_TIME: env.bool(false),
  /** Notifications each inbox keeps at most; the oldest leave past it (docs/activity-service.md "Inbox"). */
  INBOX_MAX_ITEMS: env.int(1000, 1, 100_000),
  /** Notifications older than this (by delivery time, against the inbox's newest) leave the inbox. */
  INBOX_MAX_AGE_DAYS: env.int(90, 1, 3650),
  /** Run the inbox router (activity.events -> inbox.events deliveries) in this process; it runs where the consumer does. */
  INBOX_ROUTER_ENABLED: env.bool(true),
  /** How long a mark waits to answer with the new counts before answering 202 pending. */
  INBOX_MARK_WAIT_MS: env.int(2000, 0, 30_000),
  PUBLISH_LIVE: env.bool(true),
  /** SPUBLISH (sharded pub/sub) for live notices; the gateways must set the same. */
  PUBSUB_SHARDED: env.bool(false),
  ...usersEventsOriginEnv,
  ...usersEventsPreviousKeysEnv,
  /**
   * Upgrading from a version that did not sign users.events: per partition, the offset of the
   * first signed record (`0:1200,1:987,2:1530`, the end offsets when the signing users-service was
   * deployed). Unsigned records before it are believed; offsets are the broker's, so no producer
   * can place a record there.
   */
  USERS_EVENTS_UNSIGNED_BEFORE: env
    .list('')
    .pipe(z.array(z.string().regex(/^\d{1,5}:\d{1,19}$/, 'each entry is <partition>:<offset>')))
    .transform(
      (entries) =>
        new Map(entries.map((e) => e.split(':')).map(([p, o]) => [Number(p), BigInt(o!)])),
    ),
});

export const activityConfigShape = activityConfig.shape;
export const loadActivityConfig = activityConfig.load;
/** For the process entry point: a bad variable prints its name and exits 1. */
export const readActivityConfigOrExit = activityConfig.readOrExit;

export type ActivityConfig = ReturnType<typeof loadActivityConfig>;

/** The accepted event-time window from the config. */
export function eventTimeWindow(
  config: Pick<ActivityConfig, 'EVENT_MAX_AGE_S' | 'EVENT_MAX_AHEAD_S'>,
): EventTimeWindow {
  return { maxAgeMs: config.EVENT_MAX_AGE_S * 1000, maxAheadMs: config.EVENT_MAX_AHEAD_S * 1000 };
}
