import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { UserProfile } from '@suite/contracts';
import { isolate, redisModes, testInfra, testRedis } from '@suite/testkit';
import { normalise } from '../src/data-access/search-keys.js';
import {
  Directory,
  directoryEntry,
  directoryKeys,
  rankMatch,
  SEARCH_RESULT_CAP,
  type DirectoryEntry,
} from '../src/directory/directory.js';

function profile(
  id: number,
  username: string,
  email = `${username}@example.com`,
  firstName = 'Ann',
  lastName = 'Lee',
): UserProfile {
  return {
    id,
    username,
    email,
    firstName,
    lastName,
    isActive: true,
    roles: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

/** The oracle: every live user in a plain map, searched by brute force. */
class Naive {
  readonly users = new Map<number, { profile: UserProfile; version: number }>();
  readonly deleted = new Set<number>();
  apply(p: UserProfile, version: number) {
    const current = this.users.get(p.id);
    if (this.deleted.has(p.id) || (current && current.version >= version)) return;
    this.users.set(p.id, { profile: p, version });
  }
  remove(id: number) {
    this.deleted.add(id);
    this.users.delete(id);
  }
  ids() {
    return [...this.users.keys()].sort((a, b) => a - b);
  }
  search(q: string) {
    const query = normalise(q);
    return (
      [...this.users.values()]
        .map(({ profile: p }) => ({
          p,
          key: normalise(p.username),
          rank: rankMatch(query, [p.username, p.email, p.firstName, p.lastName].map(normalise)),
        }))
        // Shorter queries than three characters match exact and prefix only.
        .filter((m) => m.rank !== undefined && (m.rank < 2 || query.length >= 3))
        .sort(
          (a, b) =>
            a.rank! - b.rank! || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || a.p.id - b.p.id,
        )
        .map((m) => m.p.id)
    );
  }
}

const word = fc.string({
  unit: fc.constantFrom('a', 'b', 'n', 'A', 'Å', '.', '*', '1'),
  minLength: 1,
  maxLength: 6,
});
const op = fc.oneof(
  fc.record({
    kind: fc.constant('apply' as const),
    id: fc.integer({ min: 1, max: 40 }),
    version: fc.integer({ min: 1, max: 6 }),
    names: fc.tuple(word, word, word, word),
  }),
  fc.record({ kind: fc.constant('remove' as const), id: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    kind: fc.constant('crash' as const),
    id: fc.integer({ min: 1, max: 40 }),
    version: fc.integer({ min: 1, max: 6 }),
    names: fc.tuple(word, word, word, word),
  }),
  fc.record({ kind: fc.constant('reload' as const) }),
);

describe.each(redisModes(testInfra()))('the directory in Redis (%s)', (_mode, infra) => {
  const redis = testRedis(infra.redisUrl);
  const prefixes: string[] = [];
  afterAll(async () => {
    // Each run's keys, on every primary.
    for (const prefix of prefixes) {
      const nodes = 'nodes' in redis ? redis.nodes('master') : [redis];
      for (const node of nodes) {
        const keys = await node.keys(`${prefix}*`);
        for (const key of keys) await node.unlink(key);
      }
    }
    redis.disconnect();
  });

  function fresh(): Directory {
    const prefix = `${isolate('directory').keyPrefix}`;
    prefixes.push(prefix);
    return new Directory(redis, directoryKeys(prefix));
  }

  /** A writer that stored the record and died before it touched the index. */
  async function diedHalfway(directory: Directory, entry: DirectoryEntry): Promise<void> {
    const put = (
      redis as unknown as {
        directoryPut(k: string, id: string, v: number, r: string, keys: string): Promise<unknown>;
      }
    ).directoryPut;
    await put.call(
      redis,
      directory.keys.records(entry.user.id),
      String(entry.user.id),
      entry.version,
      JSON.stringify({ v: entry.version, k: entry.keys, p: entry.profile }),
      entry.keys.join('\u0000'),
    );
  }

  it('when versions, deletions, half-done writes and snapshots mix at random, then pages, cursors, counts and searches agree with a brute-force oracle', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 60 }),
        fc.array(word, { minLength: 1, maxLength: 6 }),
        async (ops, queries) => {
          const directory = fresh();
          const naive = new Naive();
          for (const o of ops) {
            if (o.kind === 'apply' || o.kind === 'crash') {
              const [u, e, f, l] = o.names;
              const p = profile(o.id, `${u}${o.id}`, `${e}${o.id}@x.io`, f, l);
              if (o.kind === 'crash' && !naive.deleted.has(o.id))
                await diedHalfway(directory, directoryEntry(p, o.version));
              // The follower hears of every change: the same version applied again finishes what a dead writer left.
              await directory.apply(directoryEntry(p, o.version));
              naive.apply(p, o.version);
            } else if (o.kind === 'remove') {
              await directory.remove(o.id);
              naive.remove(o.id);
            } else {
              // A snapshot read now holds exactly what the oracle holds.
              await directory.applyAll(
                [...naive.users.values()].map(({ profile: p, version }) =>
                  directoryEntry(p, version),
                ),
              );
            }
          }
          expect(await directory.size()).toBe(naive.users.size);
          const ids = naive.ids();
          expect((await directory.page(0, 1000)).map((e) => e.user.id)).toEqual(ids);
          expect((await directory.page(3, 5)).map((e) => e.user.id)).toEqual(ids.slice(3, 8));
          if (ids.length > 2) {
            expect((await directory.around(5, { after: ids[1]! })).map((e) => e.user.id)).toEqual(
              ids.slice(2, 7),
            );
            expect(
              (await directory.around(2, { before: ids.at(-1)! })).map((e) => e.user.id),
            ).toEqual(ids.slice(-3, -1));
          }
          for (const [id, { profile: p, version }] of naive.users)
            expect(await directory.get(id)).toMatchObject({ profile: p, version });
          for (const q of [
            ...queries,
            ...[...naive.users.values()].map((u) => u.profile.email.slice(1, 4)),
          ]) {
            const all = naive.search(q);
            const got = await directory.search(q, 0, 1000);
            expect(got.results.map((e) => e.user.id)).toEqual(all);
            expect(got.count).toBe(all.length);
            expect((await directory.search(q, 2, 3)).results.map((e) => e.user.id)).toEqual(
              all.slice(2, 5),
            );
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  it('when a query matches everyone, then at most SEARCH_RESULT_CAP candidates are kept per stage, so work stays bounded', async () => {
    const directory = fresh();
    const users = Array.from({ length: 3 * SEARCH_RESULT_CAP }, (_, i) =>
      directoryEntry(profile(i + 1, `user${i + 1}`, undefined, `ann${i % 7}`), 1),
    );
    // Seeded in bulk here; the same users applied one by one must read the same.
    await directory.seed(users);
    const applied = fresh();
    await applied.applyAll(users);
    for (const q of ['user12', 'ann3', 'r29', 'user29'])
      expect(await directory.search(q, 0, 50)).toEqual(await applied.search(q, 0, 50));
    // Past a stage's cap, which users it keeps follows the set's scan order (docs/users-service.md): the counts agree.
    for (const q of ['user', 'ann', 'xample', '@example.com'])
      expect((await directory.search(q, 0, 50)).count).toBe((await applied.search(q, 0, 50)).count);
    expect(await directory.page(1234, 20)).toEqual(await applied.page(1234, 20));
    const prefix = await directory.search('user', 0, 20);
    // The first 1,000 keys in key order from the prefix stage (usernames and emails), then 1,000 more users from the substring stage.
    const keys = Array.from({ length: 3000 }, (_, i) =>
      [`user${i + 1}`, `user${i + 1}@example.com`].map((key) => ({ key, id: i + 1 })),
    ).flat();
    const prefixUsers = new Set(
      keys
        .sort((a, b) => (a.key < b.key ? -1 : 1))
        .slice(0, SEARCH_RESULT_CAP)
        .map((k) => k.id),
    );
    expect(prefix.count).toBe(prefixUsers.size + SEARCH_RESULT_CAP);
    expect(prefix.results.map((e) => e.user.username)).toEqual(
      [...Array.from({ length: 3000 }, (_, i) => `user${i + 1}`)].sort().slice(0, 20),
    );
    // Everyone's email contains "example": the substring stage stops at the cap too.
    expect((await directory.search('xample', 0, 1)).count).toBe(SEARCH_RESULT_CAP);
    expect((await directory.search('user2999', 0, 5)).results.map((e) => e.user.id)).toEqual([
      2999,
    ]);
  });

  it('when an older version, or a read of a deleted user, arrives late, then it does not overwrite what the directory knows', async () => {
    const directory = fresh();
    expect(await directory.apply(directoryEntry(profile(1, 'new'), 3))).toBe(true);
    expect(await directory.apply(directoryEntry(profile(1, 'old'), 2))).toBe(false);
    expect((await directory.search('old', 0, 10)).count).toBe(0);
    await directory.remove(1);
    expect(await directory.apply(directoryEntry(profile(1, 'late'), 9))).toBe(false);
    await directory.applyAll([directoryEntry(profile(1, 'snapshot'), 9)]);
    expect(await directory.size()).toBe(0);
    expect(await directory.get(1)).toBeUndefined();
    expect(await directory.knows(1)).toBe(true);
  });

  it('when many writers race on one user with different versions, then the directory converges', async () => {
    const directory = fresh();
    const versions = fc.sample(fc.integer({ min: 1, max: 50 }), 100);
    await Promise.all(
      versions.map((v) =>
        directory.apply(
          directoryEntry(profile(7, `racer${v}`, `r${v}@x.io`, `first${v}`, `last${v}`), v),
        ),
      ),
    );
    const top = Math.max(...versions);
    expect((await directory.get(7))?.version).toBe(top);
    expect((await directory.search('racer', 0, 100)).results.map((e) => e.user.username)).toEqual([
      `racer${top}`,
    ]);
    expect((await directory.search('irst', 0, 100)).count).toBe(1);
    expect((await directory.search('ast', 0, 100)).count).toBe(1);
  });

  it('when search text holds regex metacharacters or other case and compatibility forms, then they are plain text and normalised', async () => {
    const directory = fresh();
    await directory.apply(directoryEntry(profile(1, 'ＡＮＮ.*', 'a@x.io', 'Zoë\u0000x', 'Lee'), 1));
    expect((await directory.search('ann.*', 0, 5)).results.map((e) => e.user.id)).toEqual([1]);
    expect((await directory.search('n.*', 0, 5)).count).toBe(1);
    expect((await directory.search('.*', 0, 5)).count).toBe(0); // two characters: exact and prefix only
    expect((await directory.search('a.', 0, 5)).count).toBe(0);
    expect((await directory.search('zoë\u0000', 0, 5)).count).toBe(1);
    expect((await directory.search('ZOË', 0, 5)).count).toBe(1);
  });
});
