// npm run projections:rebuild — drop the Redis projections and replay the topics from the start.
import { kafkaSecurity } from '@suite/config';
import { Topics } from '@suite/contracts';
import { createLogger } from '@suite/logger';
import { createMetrics } from '@suite/server-kit';
import { readActivityConfigOrExit } from '../config.js';
import { KafkajsConsumer } from '../consumer/kafkajs.consumer.js';
import { Projector } from '../consumer/projector.js';
import { createKafka } from '../data-access/kafka.js';
import { ProjectionStore } from '../data-access/projection.store.js';
import { createRedis } from '@suite/redis';
import { dropProjections } from '../data-access/drop-projections.js';

const config = readActivityConfigOrExit();
const log = createLogger({ service: 'projections-rebuild', version: '0.1.0', level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL });
const say = (line: string) => process.stderr.write(`${line}\n`);
const kafka = createKafka(`${config.KAFKA_CLIENT_ID}-rebuild`, config.KAFKA_BROKERS, kafkaSecurity(config));
const admin = kafka.admin();
const redis = createRedis(config.REDIS_URL, log, 'projections-rebuild');
const topics = [Topics.activityEvents, Topics.usersEvents].map((t) => `${config.KAFKA_TOPIC_PREFIX}${t}`);

try {
  await admin.connect();
  await redis.connect();
  // Racing live consumers would interleave two writers on the same projections: refuse instead.
  const [group] = (await admin.describeGroups([config.KAFKA_GROUP_ID])).groups;
  if (group && group.members.length > 0) {
    say(`refusing to rebuild: consumer group "${config.KAFKA_GROUP_ID}" has ${group.members.length} active member(s) (state ${group.state}).`);
    say('Stop the projection consumers first (scale activity-service to 0, or run it with CONSUMER_ENABLED=false), then rerun.');
    process.exit(3);
  }
  const targets = new Map<string, number>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) targets.set(`${topic}:${p.partition}`, Number(p.high));
  }
  const total = [...targets.values()].reduce((a, b) => a + b, 0);
  const dropped = await dropProjections(redis, config.REDIS_KEY_PREFIX);
  say(`dropped ${dropped} projection keys under prefix "${config.REDIS_KEY_PREFIX}"; replaying ${total} records from ${topics.join(', ')}`);

  const store = new ProjectionStore(redis, config.REDIS_KEY_PREFIX, { feedCap: config.FEED_MAX_ITEMS, dedupWindowMs: config.DEDUP_WINDOW_S * 1000 });
  await store.claimLayout();
  const dlq = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  // Replays must not push old activities to live streams as if they were new.
  const projector = new Projector(store, dlq, log, createMetrics('projections-rebuild').registry, { topicPrefix: config.KAFKA_TOPIC_PREFIX, publishLive: false });
  const consumer = new KafkajsConsumer(kafka, { groupId: config.KAFKA_GROUP_ID, topics, concurrency: config.CONSUMER_CONCURRENCY, sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS }, log);
  const started = Date.now();
  const applied = async () => {
    const offsets = await store.allOffsets();
    return [...targets.keys()].reduce((n, k) => n + Math.min(Number(offsets[k] ?? 0), targets.get(k)!), 0);
  };
  await consumer.start(projector);
  let last = 0;
  for (;;) {
    const done = await applied();
    const seconds = (Date.now() - started) / 1000;
    const rate = done / Math.max(seconds, 0.001);
    const lag = total - done;
    say(`  ${done}/${total} records  ${Math.round(rate)} records/s  lag ${lag}  ETA ${rate > 0 ? Math.ceil(lag / rate) : '?'} s`);
    if (done >= total) break;
    if (done === last && seconds > 120 && rate === 0) throw new Error('no progress for two minutes');
    last = done;
    await new Promise((r) => setTimeout(r, 1000));
  }
  await consumer.stop();
  await dlq.disconnect();
  say(`rebuilt ${total} records in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(0);
} catch (err) {
  say(`rebuild failed: ${(err as Error).message}`);
  process.exit(1);
} finally {
  await admin.disconnect().catch(() => undefined);
  redis.disconnect();
}
