import type { User, UserProfile } from '@suite/contracts';
import { normalise, trigrams } from '../data-access/search-keys.js';

/** What the directory keeps of one live user. */
export interface DirectoryEntry {
  user: User;
  profile: UserProfile;
  version: number;
  /** The normalised username, email, first and last name: what search matches. */
  keys: readonly [string, string, string, string];
}

/** Search never keeps more than this many candidates per stage (exact, prefix, substring); docs/users-service.md. */
export const SEARCH_RESULT_CAP = 1000;
export const MIN_SUBSTRING_LENGTH = 3;

export type MatchRank = 0 | 1 | 2;

/** 0 exact, 1 prefix, 2 substring; undefined when no field contains the query. */
export function rankMatch(query: string, fields: readonly string[]): MatchRank | undefined {
  let best: MatchRank | undefined;
  for (const field of fields) {
    let rank: MatchRank | undefined;
    if (field === query) rank = 0;
    else if (field.startsWith(query)) rank = 1;
    else if (field.includes(query)) rank = 2;
    if (rank !== undefined && (best === undefined || rank < best)) best = rank;
  }
  return best;
}

/** Plain code-unit order: deterministic, and cheap enough to sort thousands of matches. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The index of the first element of sorted `list` that is not below `probe`. */
function lowerBound<T, P>(list: readonly T[], probe: P, compare: (item: T, probe: P) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(list[mid]!, probe) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const byNumber = (a: number, b: number) => a - b;

function insertSorted(list: number[], id: number): void {
  if (list.length === 0 || list[list.length - 1]! < id) list.push(id);
  else list.splice(lowerBound(list, id, byNumber), 0, id);
}

function removeSorted(list: number[], id: number): void {
  const at = lowerBound(list, id, byNumber);
  if (list[at] === id) list.splice(at, 1);
}

interface KeyRef {
  key: string;
  id: number;
}

const byKey = (a: KeyRef, b: KeyRef) => compareText(a.key, b.key) || a.id - b.id;

/**
 * The user directory as list, search and get read it: every live user in memory, in id order,
 * with the keys search needs (each normalised field, sorted for exact and prefix matches, and a
 * posting list of user ids per trigram for substrings). It is a read model: MongoDB stays the
 * source of truth, and `apply` takes a newer version of a user only (so replays and races between
 * a snapshot, this replica's writes and other replicas' events converge on the newest).
 */
export class Directory {
  private readonly entries = new Map<number, DirectoryEntry>();
  /** Live ids, ascending: a page is a slice, the count is the length. */
  private readonly ids: number[] = [];
  /** Every (normalised field, id) pair, sorted: exact and prefix matches are one range. */
  private keyRefs: KeyRef[] = [];
  /** Trigram to the ascending ids of the users whose fields contain it. */
  private readonly postings = new Map<string, number[]>();
  /** Deleted ids (never reused): a late, older read of a deleted user cannot bring it back. */
  private readonly deleted = new Set<number>();

  get size(): number {
    return this.ids.length;
  }

  get(id: number): DirectoryEntry | undefined {
    return this.entries.get(id);
  }

  /** Stores `entry` unless the directory holds the same or a newer version, or the user was deleted. */
  apply(entry: DirectoryEntry): boolean {
    const id = entry.user.id;
    if (this.deleted.has(id)) return false;
    const current = this.entries.get(id);
    if (current && current.version >= entry.version) return false;
    if (current) this.unindex(current);
    this.entries.set(id, entry);
    if (!current) insertSorted(this.ids, id);
    this.index(entry);
    return true;
  }

  /** Forgets a deleted user for good. */
  remove(id: number): void {
    this.deleted.add(id);
    const current = this.entries.get(id);
    if (!current) return;
    this.unindex(current);
    this.entries.delete(id);
    removeSorted(this.ids, id);
  }

  /** Replaces everything with `entries` (a snapshot) in one step; deletions seen so far stay deleted. */
  load(entries: Iterable<DirectoryEntry>): void {
    this.entries.clear();
    this.ids.length = 0;
    this.postings.clear();
    const keyRefs: KeyRef[] = [];
    const live = [...entries].filter((e) => !this.deleted.has(e.user.id)).sort((a, b) => a.user.id - b.user.id);
    for (const entry of live) {
      if (this.entries.has(entry.user.id)) continue;
      this.entries.set(entry.user.id, entry);
      this.ids.push(entry.user.id);
      for (const key of entry.keys) keyRefs.push({ key, id: entry.user.id });
      for (const gram of gramsOf(entry)) {
        const list = this.postings.get(gram);
        if (list) list.push(entry.user.id);
        else this.postings.set(gram, [entry.user.id]);
      }
    }
    this.keyRefs = keyRefs.sort(byKey);
  }

  /** Live users `offset`… in id order. */
  page(offset: number, limit: number): DirectoryEntry[] {
    return this.ids.slice(offset, offset + limit).map((id) => this.entries.get(id)!);
  }

  /**
   * Users matching `q`, best first: exact, then prefix, then substring; ties by username, then id.
   * Each stage keeps at most SEARCH_RESULT_CAP candidates, so `count` is at most three times that.
   */
  search(q: string, offset: number, limit: number): { count: number; results: DirectoryEntry[] } {
    const query = normalise(q);
    const found = new Map<number, MatchRank>();
    const consider = (id: number) => {
      if (found.has(id)) return;
      const rank = rankMatch(query, this.entries.get(id)!.keys);
      if (rank !== undefined) found.set(id, rank);
    };
    // Exact and prefix: one range of the sorted keys (exact ones sort first within it).
    let exact = 0;
    let prefix = 0;
    for (let i = lowerBound(this.keyRefs, query, (ref, probe) => compareText(ref.key, probe)); i < this.keyRefs.length; i++) {
      const ref = this.keyRefs[i]!;
      if (!ref.key.startsWith(query)) break;
      if (ref.key === query) {
        if (exact++ < SEARCH_RESULT_CAP) consider(ref.id);
      } else {
        if (prefix++ >= SEARCH_RESULT_CAP) break;
        consider(ref.id);
      }
    }
    // Substring: walk the rarest trigram's users and confirm with a plain `includes`.
    if (query.length >= MIN_SUBSTRING_LENGTH) {
      let rarest: number[] | undefined;
      for (const gram of trigrams(query)) {
        const list = this.postings.get(gram);
        if (!list) {
          rarest = [];
          break;
        }
        if (!rarest || list.length < rarest.length) rarest = list;
      }
      let substring = 0;
      for (const id of rarest ?? []) {
        if (substring >= SEARCH_RESULT_CAP) break;
        if (found.has(id)) continue;
        const rank = rankMatch(query, this.entries.get(id)!.keys);
        if (rank === undefined) continue;
        found.set(id, rank);
        substring++;
      }
    }
    const ordered = [...found].map(([id, rank]) => ({ entry: this.entries.get(id)!, rank }));
    ordered.sort((a, b) => a.rank - b.rank || compareText(a.entry.keys[0], b.entry.keys[0]) || a.entry.user.id - b.entry.user.id);
    return { count: ordered.length, results: ordered.slice(offset, offset + limit).map((o) => o.entry) };
  }

  private index(entry: DirectoryEntry): void {
    for (const key of entry.keys) this.keyRefs.splice(lowerBound(this.keyRefs, { key, id: entry.user.id }, byKey), 0, { key, id: entry.user.id });
    for (const gram of gramsOf(entry)) {
      const list = this.postings.get(gram);
      if (list) insertSorted(list, entry.user.id);
      else this.postings.set(gram, [entry.user.id]);
    }
  }

  private unindex(entry: DirectoryEntry): void {
    for (const key of entry.keys) {
      const at = lowerBound(this.keyRefs, { key, id: entry.user.id }, byKey);
      if (this.keyRefs[at]?.key === key && this.keyRefs[at]?.id === entry.user.id) this.keyRefs.splice(at, 1);
    }
    for (const gram of gramsOf(entry)) {
      const list = this.postings.get(gram);
      if (!list) continue;
      removeSorted(list, entry.user.id);
      if (list.length === 0) this.postings.delete(gram);
    }
  }
}

function gramsOf(entry: DirectoryEntry): Set<string> {
  return new Set(entry.keys.flatMap(trigrams));
}

/** A directory entry from a user's stored fields. */
export function directoryEntry(profile: UserProfile, version: number): DirectoryEntry {
  const { roles: _roles, createdAt: _c, updatedAt: _u, ...user } = profile;
  return { user, profile, version, keys: [normalise(user.username), normalise(user.email), normalise(user.firstName), normalise(user.lastName)] };
}
