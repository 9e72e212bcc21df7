import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ProjectionKeys, SLOTS, slotOf, userSlot } from '@suite/contracts';
import { clusterTarget, createRedis, primaries } from '@suite/redis';
import { createLogger } from '@suite/logger';
import { testInfra } from '@suite/testkit';

const infra = testInfra();
const clusterUrl = infra.redisClusterUrl;
const log = createLogger({ service: 'redis-cluster-test', version: '0', level: 'silent' });

/** A deterministic generator of awkward keys: braces in every position, empty tags, non-ASCII. */
function keys(count: number, seed: number): string[] {
  let x = seed;
  const rand = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % n);
  const alphabet = ['{', '}', 'u', ':', '7', 'ws', 'é', '漢', '😀', '\n', ' ', 'a', '{}', '0'];
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + rand(12) }, () => alphabet[rand(alphabet.length)]).join(''),
  );
}

describe.skipIf(clusterUrl === undefined)('Redis Cluster (local, 3 primaries)', () => {
  const seed = new Redis(`redis://${clusterUrl!.replace('redis-cluster://', '').split(',')[0]}`);
  afterAll(() => seed.disconnect());

  it("when slotOf hashes 2,000 awkward keys and the layout's own keys, then it agrees with the server's CLUSTER KEYSLOT", async () => {
    const sample = [
      ...keys(2000, 20261204),
      ProjectionKeys.feed('p:', 42),
      ProjectionKeys.layout('p:'),
      ProjectionKeys.slotMarker('p:', 9000),
      ProjectionKeys.workspaceMembers('p:', 3),
    ];
    const server = await Promise.all(
      sample.map((key) => seed.call('CLUSTER', 'KEYSLOT', key) as Promise<number>),
    );
    expect(sample.map(slotOf)).toEqual(server);
    expect(slotOf(ProjectionKeys.feed('p:', 42))).toBe(userSlot(42));
  });

  it("when a user step looks for its slot's marker, then every slot has a marker key that lands in it", () => {
    const slots = Array.from({ length: SLOTS }, (_, slot) =>
      slotOf(ProjectionKeys.slotMarker('any-prefix:', slot)),
    );
    expect(slots).toEqual(Array.from({ length: SLOTS }, (_, slot) => slot));
  });

  it('when a redis-cluster:// URL is given, then the client reaches every primary and a multi-slot command is refused as CROSSSLOT', async () => {
    const client = createRedis(clusterUrl!, log, 'cluster-test');
    await client.connect();
    try {
      expect(primaries(client)).toHaveLength(3);
      await client.set('{a}x', '1');
      await expect(client.call('MSET', '{a}y', '1', '{b}y', '1')).rejects.toThrow(
        /CROSSSLOT|same slot/,
      );
    } finally {
      client.disconnect();
    }
  });

  it('when a cluster URL is malformed, then it is refused naming the seed node it could not read', () => {
    expect(() => clusterTarget('redis-cluster://127.0.0.1:7001,localhost')).toThrow(
      /"localhost" is not host:port/,
    );
    expect(clusterTarget('redis://127.0.0.1:6379')).toBeUndefined();
    expect(clusterTarget('rediss-cluster://user:p%40ss@h1:1,[::1]:2')).toEqual({
      nodes: [
        { host: 'h1', port: 1 },
        { host: '::1', port: 2 },
      ],
      tls: true,
      username: 'user',
      password: 'p@ss',
    });
  });
});
