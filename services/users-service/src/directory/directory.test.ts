import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UserProfile } from '@suite/contracts';
import { normalise, trigrams } from '../data-access/search-keys.js';
import { Directory, directoryEntry, rankMatch, SEARCH_RESULT_CAP } from './directory.js';

function profile(id: number, username: string, email = `${username}@example.com`, firstName = 'Ann', lastName = 'Lee'): UserProfile {
  return { id, username, email, firstName, lastName, isActive: true, roles: [], createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
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
    return [...this.users.values()]
      .map(({ profile: p }) => ({ p, key: normalise(p.username), rank: rankMatch(query, [p.username, p.email, p.firstName, p.lastName].map(normalise)) }))
      // Shorter queries than three characters match exact and prefix only.
      .filter((m) => m.rank !== undefined && (m.rank < 2 || query.length >= 3))
      .sort((a, b) => a.rank! - b.rank! || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || a.p.id - b.p.id)
      .map((m) => m.p.id);
  }
}

const word = fc.string({ unit: fc.constantFrom('a', 'b', 'n', 'A', 'Å', '.', '*', '1'), minLength: 1, maxLength: 6 });
const op = fc.oneof(
  fc.record({ kind: fc.constant('apply' as const), id: fc.integer({ min: 1, max: 40 }), version: fc.integer({ min: 1, max: 6 }), names: fc.tuple(word, word, word, word) }),
  fc.record({ kind: fc.constant('remove' as const), id: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('reload' as const) }),
);

describe('Directory', () => {
  it('agrees with a brute-force oracle on pages, counts and searches after any mix of versions, deletions and reloads', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.array(word, { minLength: 1, maxLength: 8 }), (ops, queries) => {
        const directory = new Directory();
        const naive = new Naive();
        for (const o of ops) {
          if (o.kind === 'apply') {
            const [u, e, f, l] = o.names;
            const p = profile(o.id, `${u}${o.id}`, `${e}${o.id}@x.io`, f, l);
            directory.apply(directoryEntry(p, o.version));
            naive.apply(p, o.version);
          } else if (o.kind === 'remove') {
            directory.remove(o.id);
            naive.remove(o.id);
          } else {
            // A snapshot read now holds exactly what the oracle holds.
            directory.load([...naive.users.values()].map(({ profile: p, version }) => directoryEntry(p, version)));
          }
        }
        expect(directory.size).toBe(naive.users.size);
        expect(directory.page(0, 1000).map((e) => e.user.id)).toEqual(naive.ids());
        expect(directory.page(3, 5).map((e) => e.user.id)).toEqual(naive.ids().slice(3, 8));
        for (const [id, { profile: p, version }] of naive.users) expect(directory.get(id)).toMatchObject({ profile: p, version });
        for (const q of [...queries, ...[...naive.users.values()].map((u) => u.profile.email.slice(1, 4))]) {
          const all = naive.search(q);
          const got = directory.search(q, 0, 1000);
          expect(got.results.map((e) => e.user.id)).toEqual(all);
          expect(got.count).toBe(all.length);
          expect(directory.search(q, 2, 3).results.map((e) => e.user.id)).toEqual(all.slice(2, 5));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps at most SEARCH_RESULT_CAP candidates per stage, so work stays bounded for a query everyone matches', () => {
    const directory = new Directory();
    directory.load(Array.from({ length: 3 * SEARCH_RESULT_CAP }, (_, i) => directoryEntry(profile(i + 1, `user${i + 1}`), 1)));
    const prefix = directory.search('user', 0, 20);
    // At most 1,000 keys from the prefix stage (usernames and emails), 1,000 more users from the substring stage.
    expect(prefix.count).toBeGreaterThan(SEARCH_RESULT_CAP);
    expect(prefix.count).toBeLessThan(3000);
    expect(prefix.results.map((e) => e.user.username)).toEqual([...Array.from({ length: 3000 }, (_, i) => `user${i + 1}`)].sort().slice(0, 20));
    // Everyone's email contains "example": the substring stage stops at the cap too.
    expect(directory.search('xample', 0, 1).count).toBe(SEARCH_RESULT_CAP);
    expect(directory.search('user2999', 0, 5).results.map((e) => e.user.id)).toEqual([2999]);
  });

  it('never lets an older version, or a read of a deleted user, overwrite what it knows', () => {
    const directory = new Directory();
    expect(directory.apply(directoryEntry(profile(1, 'new'), 3))).toBe(true);
    expect(directory.apply(directoryEntry(profile(1, 'old'), 2))).toBe(false);
    expect(directory.search('old', 0, 10).count).toBe(0);
    directory.remove(1);
    expect(directory.apply(directoryEntry(profile(1, 'late'), 9))).toBe(false);
    directory.load([directoryEntry(profile(1, 'snapshot'), 9)]);
    expect(directory.size).toBe(0);
  });

  it('treats regex metacharacters as plain text, and normalises case and compatibility forms', () => {
    expect(rankMatch('a.*', ['abc'])).toBeUndefined();
    expect(rankMatch('a.*', ['xa.*y'])).toBe(2);
    expect(normalise('ÅNGSTRÖM')).toBe('ångström');
    expect(normalise('ｆｕｌｌ')).toBe('full');
    expect(trigrams('anna')).toEqual(['ann', 'nna']);
    const directory = new Directory();
    directory.apply(directoryEntry(profile(1, 'ＡＮＮ.*'), 1));
    expect(directory.search('ann.*', 0, 5).results.map((e) => e.user.id)).toEqual([1]);
    expect(directory.search('n.*', 0, 5).count).toBe(1);
    expect(directory.search('.*', 0, 5).count).toBe(0); // two characters: exact and prefix only
    expect(directory.search('a.', 0, 5).count).toBe(0);
  });
});
