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
    { name: 'projections-rebuild', publishLive: false },
  );
  // Racing live consumers would interleave two writers on the same projections: refuse instead.
  const [group] = (await admin.describeGroups([config.KAFKA_GROUP_ID])).groups;
  if (group && group.members.length > 0) {
    say(
      `refusing to rebuild: consumer group "${config.KAFKA_GROUP_ID}" has ${group.members.length} active member(s) (state ${group.state}).`,
    );
    say(
      'Stop the projection consumers first (scale activity-service to 0, or run it with CONSUMER_ENABLED=false), then rerun.',
    );
    return 3;
  }
  const targets = (
    await Promise.all(
      pipeline.topics.map(async (topic) =>
        (await admin.fetchTopicOffsets(topic)).map((p) => ({
          topic,
          partition: p.partition,
          offset: BigInt(p.high),
        })),
      ),
    )
  ).flat();
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
  let last = 0n;
  let stalledSince = Date.now();
  for (;;) {
    const stored = await pipeline.state.storedOffsets(targets);
    const done = targets.reduce(
      (n, t, i) => n + (stored[i] === null ? 0n : stored[i]! < t.offset ? stored[i]! : t.offset),
      0n,
    );
    const seconds = (Date.now() - started) / 1000;
    const rate = Number(done) / Math.max(seconds, 0.001);
    const lag = Number(total - done);
    say(
      `  ${done}/${total} records  ${Math.round(rate)} records/s  lag ${lag}  ETA ${rate > 0 ? Math.ceil(lag / rate) : '?'} s`,
    );
    if (done >= total) break;
    if (done !== last) stalledSince = Date.now();
    if (Date.now() - stalledSince > 120_000) throw new Error('no progress for two minutes');
    last = done;
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Every target reached: this read clears the rebuilding mark.
  const condition = await pipeline.state.condition();
  await pipeline.consumer.stop();
  await pipeline.close();
  say(
    `rebuilt ${total} records in ${((Date.now() - started) / 1000).toFixed(1)} s (projections ${condition.state})`,
  );
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
