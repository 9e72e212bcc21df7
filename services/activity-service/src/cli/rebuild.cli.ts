// npm run projections:rebuild — drop the Redis projections and replay the topics from the start.
import { kafkaSecurity } from '@suite/config';
import { createLogger } from '@suite/logger';
import { createRedis } from '@suite/redis';
import { createMetrics } from '@suite/server-kit';
import { readActivityConfigOrExit } from '../config.js';
import { createProjectionPipeline } from '../projection-pipeline.js';
import { createKafka } from '../data-access/kafka.js';
import { dropProjections } from '../data-access/projection.state.js';
import { SERVICE_VERSION } from '../service.js';

const config = readActivityConfigOrExit();
const log = createLogger({
  service: 'projections-rebuild',
  version: SERVICE_VERSION,
  level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
});
const say = (line: string) => process.stderr.write(`${line}\n`);
const kafka = createKafka(
  `${config.KAFKA_CLIENT_ID}-rebuild`,
  config.KAFKA_BROKERS,
  kafkaSecurity(config),
);
const admin = kafka.admin();
const redis = createRedis(config.REDIS_URL, log, 'projections-rebuild');

type Pipeline = ReturnType<typeof createProjectionPipeline>;
type Target = { topic: string; partition: number; offset: bigint };

/** Racing live consumers would interleave two writers on the same projections: refuse instead. */
async function refuseWhileConsumersRun(): Promise<boolean> {
  const [group] = (await admin.describeGroups([config.KAFKA_GROUP_ID])).groups;
  if (!group || group.members.length === 0) return false;
  say(
    `refusing to rebuild: consumer group "${config.KAFKA_GROUP_ID}" has ${group.members.length} active member(s) (state ${group.state}).`,
  );
  say(
    'Stop the projection consumers first (scale activity-service to 0, or run it with CONSUMER_ENABLED=false), then rerun.',
  );
  return true;
}

/** Every partition's end offset now: the replay is done when the stored offsets reach them. */
async function endOffsets(topics: readonly string[]): Promise<Target[]> {
  const perTopic = await Promise.all(
    topics.map(async (topic) =>
      (await admin.fetchTopicOffsets(topic)).map((p) => ({
        topic,
        partition: p.partition,
        offset: BigInt(p.high),
      })),
    ),
  );
  return perTopic.flat();
}

/** Prints progress every second until every target is reached; throws after two minutes stalled. */
async function followReplay(pipeline: Pipeline, targets: Target[], started: number) {
  const total = targets.reduce((n, t) => n + t.offset, 0n);
  let last = 0n;
  let stalledSince = Date.now();
  for (;;) {
    const stored = await pipeline.state.storedOffsets(targets);
    const done = targets.reduce((n, t, i) => {
      const at = stored[i];
      return n + (at === null || at === undefined ? 0n : at < t.offset ? at : t.offset);
    }, 0n);
    const rate = Number(done) / Math.max((Date.now() - started) / 1000, 0.001);
    const lag = Number(total - done);
    const eta = rate > 0 ? Math.ceil(lag / rate) : '?';
    say(`  ${done}/${total} records  ${Math.round(rate)} records/s  lag ${lag}  ETA ${eta} s`);
    if (done >= total) return;
    if (done !== last) stalledSince = Date.now();
    if (Date.now() - stalledSince > 120_000) throw new Error('no progress for two minutes');
    last = done;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Rebuilds the projections; resolves with the process exit code. */
async function rebuild(): Promise<number> {
  await admin.connect();
  await redis.connect();
  // Replays must not push old activities to live streams as if they were new.
  const pipeline = createProjectionPipeline(
    config,
    kafka,
    redis,
    log,
    createMetrics('projections-rebuild').registry,
    // The rebuild replays what the router recorded; it never routes again.
    { name: 'projections-rebuild', publishLive: false, route: false },
  );
  if (await refuseWhileConsumersRun()) return 3;
  const targets = await endOffsets(pipeline.topics);
  const total = targets.reduce((n, t) => n + t.offset, 0n);
  const dropped = await dropProjections(redis, config.REDIS_KEY_PREFIX);
  // The targets mark the projections as rebuilding: HTTP-only replicas answer 503 until they are reached.
  const generation = await pipeline.state.claim(targets);
  if (generation === undefined)
    throw new Error('another process claimed the projections while they were being dropped');
  say(
    `dropped ${dropped} projection keys under prefix "${config.REDIS_KEY_PREFIX}"; replaying ${total} records from ${pipeline.topics.join(', ')} (generation ${generation})`,
  );
  pipeline.keeper.attach(pipeline.consumer);
  const started = Date.now();
  await pipeline.consumer.start(pipeline.projector);
  await followReplay(pipeline, targets, started);
  // Every target reached: this read clears the rebuilding mark.
  const condition = await pipeline.state.condition();
  await pipeline.consumer.stop();
  await pipeline.close();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  say(`rebuilt ${total} records in ${seconds} s (projections ${condition.state})`);
  return 0;
}

let code = 1;
try {
  code = await rebuild();
} catch (err) {
  say(`rebuild failed: ${(err as Error).message}`);
}
await admin.disconnect().catch(() => undefined);
redis.disconnect();
process.exit(code);
