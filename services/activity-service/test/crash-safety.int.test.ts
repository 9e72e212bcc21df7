import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@suite/local-infra';
import {
  eventually,
  redisModes,
  startChildService,
  testInfra,
  testRedis,
  type ChildService,
  type TestInfra,
} from '@suite/testkit';
import { appliedRecords, expectMatchesOracle, oracleScenario, pacedProducer } from './oracle.js';

const serviceDir = `${import.meta.dirname}/..`;
const FEED_CAP = 50;
const live: ChildService[] = [];
afterAll(async () => {
  for (const c of live) await c.kill('SIGKILL');
});

async function scenario(
  infra: TestInfra,
  label: string,
  run: (ctx: {
    start: () => Promise<ChildService>;
    produce: (from: number, to: number) => Promise<void>;
    applied: () => Promise<number>;
  }) => Promise<void>,
) {
  const redis = testRedis(infra.redisUrl);
  const {
    names,
    topic,
    events,
    records,
    config: env,
  } = await oracleScenario(label, label.length * 7919, infra.redisUrl, {
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    FEED_MAX_ITEMS: String(FEED_CAP),
    LOG_LEVEL: 'warn',
    PUBLISH_LIVE: 'false',
  });
  const kafka = new Kafka({
    clientId: label,
    brokers: infra.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const producer = await pacedProducer(kafka, topic, records);
  const start = async () => {
    const child = await startChildService(serviceDir, 'src/main.ts', env, await freePort());
    live.push(child);
    // Ready once it joined the group (after the killed member's session timed out) and owns partitions.
    await eventually(
      async () => ((await fetch(`${child.url}/readyz`)).ok ? true : undefined),
      60_000,
      100,
    );
    return child;
  };
  // Paced: a kill lands mid-stream even though the consumer applies faster than one producer writes.
  const produce = (from: number, to: number) => producer.produce(from, to);
  const applied = () => appliedRecords(redis, names.keyPrefix, topic, 3);
  await run({ start, produce, applied });
  await producer.close();
  // Caught up when the offsets stored with the projection cover every record produced.
  await eventually(
    async () => ((await applied()) === records.length ? true : undefined),
    120_000,
    500,
  );
  await expectMatchesOracle(redis, names.keyPrefix, events, FEED_CAP);
  redis.disconnect();
}

const pause = (min: number, max: number) =>
  new Promise((r) => setTimeout(r, min + Math.random() * (max - min)));

// The same guarantees on one Redis and on a Redis Cluster (every step in one slot).
describe.each(redisModes(testInfra()))('crash safety (%s Redis)', (mode, infra) => {
  it('when the consumer is SIGKILLed at random while 20k events stream in, then every projection equals the oracle', async () => {
    await scenario(infra, `crash-${mode}`, async ({ start, produce, applied }) => {
      let child = await start();
      const kills: number[] = [];
      for (let round = 0; round < 4; round++) {
        const before = await applied();
        const producing = produce(round * 5000, (round + 1) * 5000);
        // Kill only once this process is applying batches, at a random moment mid-stream.
        await eventually(async () => ((await applied()) > before ? true : undefined), 60_000, 20);
        await pause(0, 60);
        expect(await child.kill('SIGKILL')).toBeNull();
        kills.push(await applied());
        await producing;
        child = await start();
      }
      // Each kill landed while the projection was behind the log: the crash really was mid-stream.
      expect(kills.every((k, i) => k < (i + 1) * 5000)).toBe(true);
    });
  }, 300_000);

  it('when two consumer processes rebalance mid-stream (one killed), then every projection equals the oracle', async () => {
    await scenario(infra, `rebalance-${mode}`, async ({ start, produce }) => {
      const a = await start();
      await produce(0, 6000);
      const b = await start();
      await produce(6000, 12_000);
      await pause(300, 800);
      await a.kill('SIGKILL');
      await produce(12_000, 20_000);
      void b;
    });
  }, 300_000);
});
