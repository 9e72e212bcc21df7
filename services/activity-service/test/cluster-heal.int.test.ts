import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ensureRedisCluster,
  freePort,
  isAlive,
  probeRedisCluster,
  readPid,
  startClusterNode,
  stateDir,
  stopDaemon,
} from '@suite/local-infra';
import { slotOf } from '@suite/contracts';
import { eventually, testInfra, testRedis } from '@suite/testkit';
import {
  createActivityService,
  loadActivityConfig,
  type ActivityService,
} from '@suite/activity-service';
import { appliedRecords, expectMatchesOracle, oracleScenario, pacedProducer } from './oracle.js';

const infra = testInfra();
const FEED_CAP = 50;
const ports: number[] = [];
const name = `rc-heal-${process.pid}`;
const node = (port: number) => `${name}-${port}`;

afterAll(async () => {
  for (const port of ports) {
    await stopDaemon(node(port));
    rmSync(join(stateDir, node(port)), { recursive: true, force: true });
  }
});

describe('healing on a Redis Cluster', () => {
  it('when a primary is SIGKILLed mid-stream and restarts empty, then the loss is noticed in its slots, the projections heal, and every count, feed and stream position equals the oracle', async () => {
    // A private 3-primary cluster: one of its primaries is killed.
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    const cluster = await ensureRedisCluster(ports, name);
    const { names, topic, events, records, config } = await oracleScenario(
      'clusterheal',
      20261204,
      cluster.url,
      {
        FEED_MAX_ITEMS: String(FEED_CAP),
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        SHUTDOWN_GRACE_MS: '1000',
      },
    );
    const service: ActivityService = await createActivityService(loadActivityConfig(config));
    await service.start();
    const http = await service.listen(0, '127.0.0.1');
    const redis = testRedis(cluster.url);
    const producer = await pacedProducer(
      new Kafka({
        clientId: 'cluster-heal',
        brokers: infra.kafkaBrokers,
        logLevel: logLevel.NOTHING,
      }),
      topic,
      records,
    );
    const applied = () => appliedRecords(redis, names.keyPrefix, topic, 3).catch(() => -1);
    try {
      const producing = producer.produce(0, records.length);
      await eventually(async () => ((await applied()) > 5000 ? true : undefined), 60_000, 20);
      // Not the primary of `{projections}` (layout, checkpoints): the loss must be noticed by the slot markers alone.
      const home = Number(
        ((await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][]).find(
          ([from, to]) => from <= slotOf('projections') && slotOf('projections') <= to,
        )![2][1],
      );
      const victim = ports.find((port) => port !== home)!;
      const pid = readPid(node(victim))!;
      process.kill(pid, 'SIGKILL');
      for (let waited = 0; isAlive(pid) && waited < 5000; waited += 20)
        await new Promise((r) => setTimeout(r, 20));
      // Restarted with its node table (same id, same slots) and no data: what a pod without persistence comes back as.
      await startClusterNode(victim, node(victim));
      await eventually(
        async () =>
          await probeRedisCluster(cluster.url).then(
            () => true,
            () => undefined,
          ),
        30_000,
        200,
      );
      await producing;
      await eventually(
        async () => ((await applied()) === records.length ? true : undefined),
        180_000,
        500,
      );
      await expectMatchesOracle(redis, names.keyPrefix, events, FEED_CAP);
      // Noticed as a loss and healed by a rebuild (not silently written into an emptied slot).
      expect(await (await fetch(`${http.url}/metrics`)).text()).toMatch(
        /^activity_projection_heals_total\{[^}]*kind="rebuild"[^}]*\} [1-9]/m,
      );
    } finally {
      await producer.close();
      await service.stop();
      redis.disconnect();
    }
  }, 300_000);
});
