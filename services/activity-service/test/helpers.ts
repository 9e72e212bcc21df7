import { Redis, type Cluster } from 'ioredis';
import { ProjectionKeys, SEEN_BUCKETS } from '@suite/contracts';
import { ActivityPublisher } from '@suite/publisher';
import type { Producer } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import {
  eventually,
  isolate,
  signedUsersRecord,
  usersEvent,
  startInProcess,
  topicOffsets,
  testInfra,
  testProducer,
  type InProcessOptions,
  type Isolation,
  type TestInfra,
  TEST_JWT_SECRET,
  testTokens,
} from '@suite/testkit';
import { createActivityService, loadActivityConfig } from '@suite/activity-service';
import { dedupId } from '../src/data-access/activity.transaction.js';

export const secret = TEST_JWT_SECRET;

/** Starts activity-service in-process on its own key prefix, topics and consumer group (on the shared servers unless `infra` names others; on the names of an earlier one when given; on topics that keep producers' timestamps with `clock: 'producer'`), and waits until it is ready. */
export async function startActivityService(
  label: string,
  env: Record<string, string> = {},
  infra: TestInfra = testInfra(),
  reuse?: Isolation,
  clock: 'broker' | 'producer' = 'broker',
) {
  let options: InProcessOptions = { env, infra, ...(reuse ? { names: reuse } : {}) };
  if (clock === 'producer') {
    // Topics on the producer's clock (CreateTime), which the service consumes only when told to.
    const names = reuse ?? isolate(label);
    await createTimeTopics(infra.kafkaBrokers, names.topicPrefix);
    options = {
      env: { ...env, KAFKA_ALLOW_CREATE_TIME: 'true' },
      infra,
      names,
      createTopics: false,
    };
  }
  const started = await startInProcess(label, loadActivityConfig, createActivityService, options);
  const { server, names, service } = started;
  // Ready: joined the group and built the (empty) projections; reads answer 503 before that.
  await eventually(
    async () => ((await fetch(`${server.url}/readyz`)).ok ? true : undefined),
    60_000,
    100,
  );
  const publisher = new ActivityPublisher({
    brokers: infra.kafkaBrokers,
    topicPrefix: names.topicPrefix,
  });
  const topics = [
    `${names.topicPrefix}activity.events`,
    `${names.topicPrefix}users.events`,
    `${names.topicPrefix}inbox.events`,
  ] as const;
  const producers: Producer[] = [];
  const routed =
    started.env.CONSUMER_ENABLED !== 'false' && started.env.INBOX_ROUTER_ENABLED !== 'false';
  const router = {
    groupId: `${started.env.KAFKA_GROUP_ID}-inbox-router`,
    source: topics[0],
    target: topics[2],
  };
  return {
    ...started,
    config: started.env,
    publisher,
    activityTopic: topics[0],
    usersTopic: topics[1],
    inboxTopic: topics[2],
    /** Resolves once the consumer has applied or dead-lettered every record now in its topics (instead of sleeping before asserting that nothing changed). */
    settled: () => settled(infra, names.keyPrefix, [...topics], routed ? router : undefined),
    /** A raw Kafka producer (for records no publisher would write), disconnected by `stop`. */
    producer: async (clientId: string) => {
      const producer = await testProducer(infra.kafkaBrokers, clientId);
      producers.push(producer);
      return producer;
    },
    stop: async () => {
      await Promise.all(producers.map((p) => p.disconnect()));
      await publisher.close();
      await service.stop();
    },
  };
}

/**
 * Waits until the projection's stored offsets reach the end of every partition of `topics`; with
 * `router`, also until the router routed every activity there was, and its deliveries are applied.
 */
export async function settled(
  infra: TestInfra,
  keyPrefix: string,
  topics: string[],
  router?: { groupId: string; source: string; target: string },
): Promise<void> {
  const redis = new Redis(infra.redisUrl);
  try {
    const ends = await checkpointsReach(infra, redis, keyPrefix, topics);
    if (!router) return;
    // Routing runs behind the projection: once the router's group has moved past every activity
    // there was, its deliveries are in inbox.events, and the consumer applies them too.
    const sources = ends.filter((e) => e.topic === router.source && e.end > 0n);
    const admin = new Kafka({ brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await eventually(
        async () => {
          const [group] = await admin.fetchOffsets({
            groupId: router.groupId,
            topics: [router.source],
          });
          const at = (p: number) =>
            BigInt(group?.partitions.find((g) => g.partition === p)?.offset ?? '-1');
          return sources.every((e) => at(e.partition) >= e.end) ? true : undefined;
        },
        30_000,
        50,
      );
    } finally {
      await admin.disconnect();
    }
    await checkpointsReach(infra, redis, keyPrefix, [router.target]);
  } finally {
    redis.disconnect();
  }
}

/** Waits until the projection's checkpoints reach the topics' ends as they are now; those ends. */
async function checkpointsReach(
  infra: TestInfra,
  redis: Redis,
  keyPrefix: string,
  topics: string[],
) {
  const ends = (
    await Promise.all(
      topics.map(async (topic) =>
        (await topicOffsets(infra.kafkaBrokers, topic)).map((p) => ({
          topic,
          partition: p.partition,
          key: ProjectionKeys.offset(keyPrefix, topic, p.partition),
          end: BigInt(p.high),
        })),
      ),
    )
  ).flat();
  await eventually(
    async () => {
      const stored = await redis.mget(ends.map((e) => e.key));
      return ends.every((e, i) => BigInt(stored[i] ?? 0) >= e.end) ? true : undefined;
    },
    30_000,
    50,
  );
  return ends;
}

let sequence = 0;

/** A day ago: event times in tests sit inside the accepted window (EVENT_MAX_AGE_S, EVENT_MAX_AHEAD_S) around now. */
export const T0 = Date.now() - 86_400_000;
/** The ISO time `offsetMs` after T0. */
export const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();

/** A valid activity event for `userId`, published as the test writer token's source; override any field. */
export function activityEvent(
  userId: number,
  overrides: { id?: string; time?: string; workspaceId?: number; verb?: string } = {},
) {
  sequence += 1;
  return {
    specversion: '1.0' as const,
    id: overrides.id ?? `evt-${process.pid}-${Date.now()}-${sequence}`,
    source: '/publisher/tests',
    type: 'io.activitysuite.activity.recorded' as const,
    time: overrides.time ?? at(sequence * 1000),
    subject: String(userId),
    data: {
      actorId: userId,
      verb: overrides.verb ?? 'commented',
      object: { type: 'document', id: String(sequence) },
      workspaceId: overrides.workspaceId ?? 7,
    },
  };
}

/** A users.events record as users-service publishes it. */
export { usersEvent } from '@suite/testkit';

/** Signed users.events records that give each user member access to `workspaces` (version 1). */
export function accessGranted(userIds: number[], workspaces: number[]) {
  return userIds.map((u) =>
    signedUsersRecord(
      usersEvent('user.access-changed', u, {
        userId: u,
        version: 1,
        workspaces: workspaces.map((w) => ({ workspaceId: w, name: `W${w}`, role: 'member' })),
      }),
    ),
  );
}

export const tokens = testTokens;

/** Creates a test's topics (and the activity dead-letter topic) on the producer's clock: record timestamps are what producers set. */
export async function createTimeTopics(brokers: string[], prefix: string): Promise<void> {
  const admin = new Kafka({ clientId: 'create-time', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const configEntries = [{ name: 'message.timestamp.type', value: 'CreateTime' }];
    const topics = [
      ['activity.events', 3],
      ['users.events', 2],
      ['inbox.events', 2],
      ['activity.events.dlq', 1],
      ['users.events.dlq', 1],
      ['inbox.events.dlq', 1],
    ] as const;
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map(([t, numPartitions]) => ({
        topic: `${prefix}${t}`,
        numPartitions,
        configEntries,
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

/** What a user's dedup buckets hold: per id (hex of its `dedupId`), the bucket and the record time (ms; held in whole seconds, rounded up), oldest first. */
export async function seenMarks(
  redis: Redis | Cluster,
  prefix: string,
  userId: number,
): Promise<{ id: string; bucket: number; at: number }[]> {
  const marks: { id: string; bucket: number; at: number }[] = [];
  for (let bucket = 0; bucket < SEEN_BUCKETS; bucket++) {
    const flat = await redis.zrangeBuffer(
      ProjectionKeys.seenBucket(prefix, userId, bucket),
      0,
      -1,
      'WITHSCORES',
    );
    for (let i = 0; i < flat.length; i += 2)
      marks.push({
        id: flat[i]!.toString('hex'),
        bucket,
        at: Number(flat[i + 1]!.toString()) * 1000,
      });
  }
  return marks.sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
}

/** The dedup id of an event id, as `seenMarks` shows it, and its bucket. */
export function seenId(eventId: string): { id: string; bucket: number } {
  const id = Buffer.from(dedupId(eventId), 'latin1');
  return { id: id.toString('hex'), bucket: id[0]! % SEEN_BUCKETS };
}
