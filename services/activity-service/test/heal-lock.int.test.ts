import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ProjectionKeys } from '@suite/contracts';
import { freePort } from '@suite/local-infra';
import { eventually, startChildService, testInfra, type ChildService } from '@suite/testkit';
import { oracleScenario } from './oracle.js';

const infra = testInfra();
const redis = new Redis(infra.redisUrl);
const serviceDir = `${import.meta.dirname}/..`;
const children: ChildService[] = [];
afterAll(async () => {
  for (const c of children) await c.kill('SIGKILL');
  redis.disconnect();
});

/** The heal lock's lease (HEAL_LEASE_MS in domain/projection-keeper.ts): the most a dead holder may hold the others back. */
const LEASE_MS = 10_000;

describe('the heal lock', () => {
  it('when a consumer is SIGKILLed holding the heal lock, then the next heal waits one lease at most, not the longest heal', async () => {
    // The kill must land while the lock is held (a claim takes milliseconds): watched closely, retried on a fresh prefix if missed.
    for (let attempt = 1; ; attempt++) {
      const { names, config } = await oracleScenario(
        `heallock${attempt}`,
        attempt,
        infra.redisUrl,
        { LOG_LEVEL: 'silent', KAFKA_SESSION_TIMEOUT_MS: '6000' },
      );
      const lock = ProjectionKeys.healLock(names.keyPrefix);
      // Keys a lost generation left under the prefix: the holder drops them before it claims, which
      // keeps the lock held long enough (hundreds of ms) for the kill to land inside it.
      const leftovers = redis.pipeline();
      for (let i = 0; i < 30_000; i++)
        leftovers.set(`${ProjectionKeys.user(names.keyPrefix, i)}left`, '1');
      await leftovers.exec();
      const first = await startChildService(serviceDir, 'src/main.ts', config, await freePort());
      children.push(first);
      let held = -2;
      const deadline = Date.now() + 30_000;
      while (
        held <= 0 &&
        Date.now() < deadline &&
        !(await redis.exists(ProjectionKeys.layout(names.keyPrefix)))
      )
        held = await redis.pttl(lock);
      await first.kill('SIGKILL');
      if (held <= 0) {
        expect(attempt, 'the kill never landed while the lock was held').toBeLessThan(8);
        continue;
      }
      // What the dead process left behind expires within one lease.
      expect(held).toBeLessThanOrEqual(LEASE_MS);
      const started = Date.now();
      const second = await startChildService(serviceDir, 'src/main.ts', config, await freePort());
      children.push(second);
      await eventually(
        async () => ((await fetch(`${second.url}/readyz`)).ok ? true : undefined),
        60_000,
        100,
      );
      expect(Date.now() - started).toBeLessThan(LEASE_MS + 20_000);
      expect(await redis.get(ProjectionKeys.layout(names.keyPrefix))).not.toBeNull();
      return;
    }
  }, 240_000);
});
