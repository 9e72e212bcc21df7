import type { User, UserProfile } from '@suite/contracts';
import type { RedisClient } from '@suite/redis';
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
/** A substring search looks at most this many users of its rarest trigram (docs/users-service.md). */
export const SEARCH_SCAN_CAP = 50_000;
/**
 * Users per record hash: a page of consecutive ids is one or two reads, and the 1,000 scattered
 * candidates of a substring search at most (users / 16,384) reads (61 at a million users).
 */
const BUCKET_IDS = 16_384;
/**
 * How long a replica answers a search from its ranked ids: paging through a search costs one
 * ranking, and another replica's write shows in searches within this (this replica's own at once).
 */
export const SEARCH_CACHE_MS = 1000;
/** At most this many searches kept (each at most 3,000 ids: ≤ 24 KB). */
const SEARCH_CACHE_QUERIES = 256;
/** Deleted users keep a tombstone at this version: nothing brings them back (ids are never reused). */
const TOMBSTONE_VERSION = Number.MAX_SAFE_INTEGER;
const SEP = '\u0000';

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

/** A directory entry from a user's stored fields. */
export function directoryEntry(profile: UserProfile, version: number): DirectoryEntry {
  const { roles: _roles, createdAt: _c, updatedAt: _u, ...user } = profile;
  return {
    user,
    profile,
    version,
    keys: [
      normalise(user.username),
      normalise(user.email),
      normalise(user.firstName),
      normalise(user.lastName),
    ],
  };
}

/** The directory's Redis keys (docs/users-service.md, "The directory in Redis"). */
export function directoryKeys(prefix: string) {
  return {
    /** Hash per 16,384 ids: `<id>` → the record, `<id>:x` → keys still to unindex (only mid-write). */
    records: (id: number) => `${prefix}dir:r:{${Math.floor(id / BUCKET_IDS)}}`,
    /** Sorted set of live ids (score = id): count, pages and cursors. */
    ids: `${prefix}{dir}:ids`,
    /** Sorted set per first character of a key, members `<key>\0<username>\0<id>`: exact and prefix ranges. */
    lex: (key: string) => `${prefix}dir:k:${key.codePointAt(0) ?? 0}`,
    /** Set of the ids whose keys contain the trigram. */
    gram: (gram: string) => `${prefix}dir:g:${gram}`,
    /** Hash: `built` once a snapshot of MongoDB is in, and when. */
    meta: `${prefix}{dir}:meta`,
    /** Held by the one replica building the directory from a snapshot. */
    buildLock: `${prefix}{dir}:build-lock`,
  };
}
export type DirectoryKeys = ReturnType<typeof directoryKeys>;

/**
 * Stores the record (and `<id>:k`, its keys joined by NUL: what a substring search reads) unless
 * the hash holds the same or a newer version. Storing also opens
 * `<id>:x`, the keys still to unindex (the replaced record's, after any left there before): while
 * it exists the index may lag the record. Answers [stored?, the record now held, `<id>:x` or nil].
 */
const PUT = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
local pendingField = ARGV[1] .. ':x'
if current then
  local version = tonumber(string.match(current, '^{"v":(%d+)'))
  if version and version >= tonumber(ARGV[2]) then
    return {0, current, redis.call('HGET', KEYS[1], pendingField)}
  end
end
local pending = redis.call('HGET', KEYS[1], pendingField) or ''
local old = current and cjson.decode(current).k
if old and #old > 0 then
  local joined = table.concat(old, '\\0')
  pending = pending == '' and joined or (pending .. '\\0' .. joined)
end
redis.call('HSET', KEYS[1], pendingField, pending)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] == '' then redis.call('HDEL', KEYS[1], ARGV[1] .. ':k') else redis.call('HSET', KEYS[1], ARGV[1] .. ':k', ARGV[4]) end
return {1, ARGV[3], pending}
`;

/** Closes `<id>:x` when the record and the pending keys are still what the caller indexed for. */
const SETTLE = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if redis.call('HGET', KEYS[1], ARGV[1] .. ':x') ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1] .. ':x')
return 1
`;

interface DirectoryRedis {
  directoryPut(
    key: string,
    id: string,
    version: number,
    record: string,
    keys: string,
  ): Promise<[number, string, string | null]>;
  directorySettle(key: string, id: string, record: string, pending: string): Promise<number>;
}

interface Stored {
  version: number;
  /** Undefined for a tombstone. */
  entry: DirectoryEntry | undefined;
  raw: string;
}

function encode(entry: DirectoryEntry | undefined, version: number): string {
  return entry
    ? JSON.stringify({ v: version, k: entry.keys, p: entry.profile })
    : JSON.stringify({ v: version, d: 1 });
}

function decode(raw: string): Stored {
  const record = JSON.parse(raw) as { v: number; k?: DirectoryEntry['keys']; p?: UserProfile };
  if (!record.p || !record.k) return { version: record.v, entry: undefined, raw };
  const { roles: _roles, createdAt: _c, updatedAt: _u, ...user } = record.p;
  return {
    version: record.v,
    entry: { user, profile: record.p, version: record.v, keys: record.k },
    raw,
  };
}

function gramsOf(keys: readonly string[]): Set<string> {
  return new Set(keys.flatMap(trigrams));
}

function lexMember(key: string, username: string, id: number): string {
  return `${key}${SEP}${username}${SEP}${id}`;
}

/** The username and id of a `<key>\0<username>\0<id>` member (the key may hold anything; username and id never hold \0). */
function parseLexMember(member: string): { username: string; id: number } {
  const last = member.lastIndexOf(SEP);
  const middle = member.lastIndexOf(SEP, last - 1);
  return { username: member.slice(middle + 1, last), id: Number(member.slice(last + 1)) };
}

/** A lexicographic range bound: `[` or `(` then the text, then a 0xFF byte when `top` (above every UTF-8 continuation). */
function bound(inclusive: boolean, text: string, top = false): Buffer {
  const head = Buffer.from(`${inclusive ? '[' : '('}${text}`);
  return top ? Buffer.concat([head, Buffer.from([0xff])]) : head;
}

/**
 * The user directory as list, search and get read it: a read model of MongoDB in Redis, shared by
 * every replica, so a replica holds nothing per user and a write is visible to all of them once it
 * is in. Per user: a record (version, keys, profile) in a hash of 16,384 ids, the id in `ids`, each
 * normalised field in the sorted set of its first character (exact and prefix matches are one
 * lexicographic range), and the id in the set of each trigram of its fields (substrings).
 *
 * `apply` stores a newer version only (replays and races converge on the newest), then brings the
 * index in line with whatever record is current, looping until nothing moved while it worked. Keys
 * a record stops having are first noted beside it (`<id>:x`), so a writer that dies half-way leaves
 * work the next apply of that user finishes rather than stale matches.
 */
export class Directory {
  private readonly redis: DirectoryRedis;
  /** Recent searches' ranked ids (the page of a search is then a slice); emptied by this replica's own writes. */
  private readonly searches = new Map<string, { ids: Promise<number[]>; until: number }>();

  constructor(
    readonly client: RedisClient,
    readonly keys: DirectoryKeys,
  ) {
    client.defineCommand('directoryPut', { numberOfKeys: 1, lua: PUT });
    client.defineCommand('directorySettle', { numberOfKeys: 1, lua: SETTLE });
    this.redis = client as unknown as DirectoryRedis;
  }

  /** True once a snapshot of MongoDB is in (a Redis that restarted empty is false again). */
  async built(): Promise<boolean> {
    return (await this.client.hexists(this.keys.meta, 'built')) === 1;
  }

  async markBuilt(): Promise<void> {
    await this.client.hset(this.keys.meta, 'built', new Date().toISOString());
  }

  async size(): Promise<number> {
    return this.client.zcard(this.keys.ids);
  }

  async get(id: number): Promise<DirectoryEntry | undefined> {
    const raw = await this.client.hget(this.keys.records(id), String(id));
    return raw ? decode(raw).entry : undefined;
  }

  /** True when the directory holds `version` of the user or a newer one, with its index written. */
  async holds(id: number, version: number): Promise<boolean> {
    const [raw, pending] = await this.client.hmget(this.keys.records(id), String(id), `${id}:x`);
    return !!raw && pending === null && decode(raw).version >= version;
  }

  /** True when the directory holds the user, live or deleted. */
  async knows(id: number): Promise<boolean> {
    return (await this.client.hexists(this.keys.records(id), String(id))) === 1;
  }

  /** Stores `entry` unless the directory holds the same or a newer version, or the user was deleted; the index follows either way. */
  async apply(entry: DirectoryEntry): Promise<boolean> {
    return this.put(
      entry.user.id,
      entry.version,
      encode(entry, entry.version),
      entry.keys.join(SEP),
    );
  }

  /** Forgets a deleted user for good. */
  async remove(id: number): Promise<void> {
    await this.put(id, TOMBSTONE_VERSION, encode(undefined, TOMBSTONE_VERSION), '');
  }

  /** Applies many entries at once (a snapshot), `parallel` at a time. */
  async applyAll(entries: DirectoryEntry[], parallel = 256): Promise<void> {
    for (let i = 0; i < entries.length; i += parallel)
      await Promise.all(entries.slice(i, i + parallel).map((e) => this.apply(e)));
  }

  /**
   * Writes users no one else is writing (new ids: seeding) in bulk, one command per key touched;
   * anything else goes through `apply`, which guards versions.
   */
  async seed(entries: DirectoryEntry[]): Promise<void> {
    const records = new Map<string, string[]>();
    const sorted = new Map<string, (string | number)[]>();
    const sets = new Map<string, string[]>();
    const add = <T>(into: Map<string, T[]>, key: string, ...items: T[]) => {
      const list = into.get(key);
      if (list) list.push(...items);
      else into.set(key, items);
    };
    for (const entry of entries) {
      const id = entry.user.id;
      add(
        records,
        this.keys.records(id),
        String(id),
        encode(entry, entry.version),
        `${id}:k`,
        entry.keys.join(SEP),
      );
      add(sorted, this.keys.ids, id, String(id));
      for (const key of new Set(entry.keys))
        add(sorted, this.keys.lex(key), 0, lexMember(key, entry.keys[0], id));
      for (const gram of gramsOf(entry.keys)) add(sets, this.keys.gram(gram), String(id));
    }
    await Promise.all([
      ...[...records].map(([key, items]) => this.client.hset(key, ...items)),
      ...[...sorted].map(([key, items]) => this.client.zadd(key, ...items)),
      ...[...sets].map(([key, items]) => this.client.sadd(key, ...items)),
    ]);
  }

  /** Live users `offset`… in id order. */
  async page(offset: number, limit: number): Promise<DirectoryEntry[]> {
    return this.entries(
      (await this.client.zrange(this.keys.ids, offset, offset + limit - 1)).map(Number),
    );
  }

  /** Up to `limit` live users after id `after` (ascending), or before id `before` (descending, then returned ascending). */
  async around(
    limit: number,
    from: { after: number } | { before: number },
  ): Promise<DirectoryEntry[]> {
    const ids =
      'after' in from
        ? await this.client.zrangebyscore(
            this.keys.ids,
            `(${from.after}`,
            '+inf',
            'LIMIT',
            0,
            limit,
          )
        : (
            await this.client.zrevrangebyscore(
              this.keys.ids,
              `(${from.before}`,
              '-inf',
              'LIMIT',
              0,
              limit,
            )
          ).reverse();
    return this.entries(ids.map(Number));
  }

  /**
   * Users matching `q`, best first: exact, then prefix, then substring; ties by username, then id.
   * Each stage keeps at most SEARCH_RESULT_CAP candidates, so `count` is at most three times that.
   */
  async search(
    q: string,
    offset: number,
    limit: number,
  ): Promise<{ count: number; results: DirectoryEntry[] }> {
    const query = normalise(q);
    const now = Date.now();
    let ranked = this.searches.get(query);
    if (!ranked || ranked.until < now) {
      // One ranking per query at a time: the requests that arrive while it runs share it.
      ranked = { ids: this.rank(query), until: now + SEARCH_CACHE_MS };
      this.searches.delete(query);
      this.searches.set(query, ranked);
      if (this.searches.size > SEARCH_CACHE_QUERIES)
        this.searches.delete(this.searches.keys().next().value!);
      const pending = ranked;
      pending.ids.catch(() => {
        if (this.searches.get(query) === pending) this.searches.delete(query);
      });
    }
    const ids = await ranked.ids;
    return { count: ids.length, results: await this.entries(ids.slice(offset, offset + limit)) };
  }

  /** Every match of a normalised query, best first (at most SEARCH_RESULT_CAP per stage). */
  private async rank(query: string): Promise<number[]> {
    const found = new Map<number, { rank: MatchRank; username: string }>();
    const note = (id: number, rank: MatchRank, username: string) => {
      const seen = found.get(id);
      if (!seen || rank < seen.rank) found.set(id, { rank, username });
    };
    // Exact and prefix: two ranges of the first character's sorted set (exact ones sort first).
    const lex = this.keys.lex(query);
    const [exact, prefix] = await Promise.all([
      this.client.zrangebylex(
        lex,
        bound(true, `${query}${SEP}`),
        bound(false, `${query}${SEP}`, true),
        'LIMIT',
        0,
        SEARCH_RESULT_CAP,
      ),
      this.client.zrangebylex(
        lex,
        bound(false, `${query}${SEP}`, true),
        bound(false, query, true),
        'LIMIT',
        0,
        SEARCH_RESULT_CAP,
      ),
    ]);
    for (const member of exact) {
      const { username, id } = parseLexMember(member);
      note(id, 0, username);
    }
    for (const member of prefix) {
      const { username, id } = parseLexMember(member);
      note(id, 1, username);
    }
    if (Array.from(query).length >= MIN_SUBSTRING_LENGTH) await this.substrings(query, found);
    return [...found]
      .sort(
        ([ida, a], [idb, b]) => a.rank - b.rank || compareText(a.username, b.username) || ida - idb,
      )
      .map(([id]) => id);
  }

  /**
   * Substring stage: walks the set of the query's rarest trigram, keeps the users in the sets of its
   * other trigrams, and confirms each on its record, until SEARCH_RESULT_CAP new matches or
   * SEARCH_SCAN_CAP users looked at.
   */
  private async substrings(
    query: string,
    found: Map<number, { rank: MatchRank; username: string }>,
  ): Promise<void> {
    const grams = trigrams(query).map((g) => this.keys.gram(g));
    const sizes = await Promise.all(grams.map((g) => this.client.scard(g)));
    if (sizes.some((s) => s === 0)) return;
    const bySize = grams.map((g, i) => ({ g, size: sizes[i]! })).sort((a, b) => a.size - b.size);
    const [rarest, ...others] = bySize.map((s) => s.g);
    // Two more sets narrow enough; the record confirms the rest.
    const filters = others.slice(0, 2);
    let cursor = '0';
    let scanned = 0;
    let added = 0;
    do {
      const [next, members] = await this.client.sscan(rarest!, cursor, 'COUNT', SEARCH_RESULT_CAP);
      cursor = next;
      scanned += members.length;
      let ids = members.map(Number).filter((id) => !found.has(id));
      for (const filter of filters) {
        if (ids.length === 0) break;
        const inSet = await this.client.smismember(filter, ...ids.map(String));
        ids = ids.filter((_, i) => inSet[i] === 1);
      }
      for (const [id, keys] of await this.keysOf(ids)) {
        if (added >= SEARCH_RESULT_CAP) return;
        const rank = rankMatch(query, keys);
        if (rank === undefined || found.has(id)) continue;
        found.set(id, { rank, username: keys[0]! });
        added++;
      }
    } while (cursor !== '0' && added < SEARCH_RESULT_CAP && scanned < SEARCH_SCAN_CAP);
  }

  /** The live records of `ids`, in that order (a user deleted meanwhile is left out). */
  private async entries(ids: number[]): Promise<DirectoryEntry[]> {
    const got = await this.fields(ids, '');
    return ids.flatMap((id) => {
      const raw = got.get(id);
      return (raw && decode(raw).entry) || [];
    });
  }

  /** The normalised keys of the live users among `ids` (a few bytes each, where a record is hundreds). */
  private async keysOf(ids: number[]): Promise<Map<number, string[]>> {
    const got = await this.fields(ids, ':k');
    return new Map([...got].map(([id, joined]) => [id, joined.split(SEP)]));
  }

  /** Field `<id><suffix>` of each id's record hash, one HMGET per hash. */
  private async fields(ids: number[], suffix: string): Promise<Map<number, string>> {
    const byBucket = new Map<string, number[]>();
    for (const id of ids) {
      const key = this.keys.records(id);
      const list = byBucket.get(key);
      if (list) list.push(id);
      else byBucket.set(key, [id]);
    }
    const got = new Map<number, string>();
    await Promise.all(
      [...byBucket].map(async ([key, list]) => {
        const values = await this.client.hmget(key, ...list.map((id) => `${id}${suffix}`));
        values.forEach((value, i) => {
          if (value) got.set(list[i]!, value);
        });
      }),
    );
    return got;
  }

  private async put(id: number, version: number, record: string, keys: string): Promise<boolean> {
    // Read-your-writes on this replica: no search answers from before the write.
    this.searches.clear();
    const bucket = this.keys.records(id);
    const [stored, raw, pending] = await this.redis.directoryPut(
      bucket,
      String(id),
      version,
      record,
      keys,
    );
    // Nothing pending: the index already follows the record held.
    if (pending !== null) await this.settle(id, decode(raw), pending);
    return stored === 1;
  }

  /** Brings the index in line with the current record, until the record and its pending keys held still while it did. */
  private async settle(id: number, current: Stored, pending: string): Promise<void> {
    const bucket = this.keys.records(id);
    let written: (readonly string[])[] = [];
    for (let round = 0; round < 20; round++) {
      await this.index(id, current.entry, [...tuples(pending), ...written]);
      written = current.entry ? [current.entry.keys] : [];
      if ((await this.redis.directorySettle(bucket, String(id), current.raw, pending)) === 1)
        return;
      const [raw, nextPending] = await this.client.hmget(bucket, String(id), `${id}:x`);
      if (!raw || nextPending === null || nextPending === undefined) return;
      current = decode(raw);
      pending = nextPending;
    }
  }

  /** Writes `entry`'s memberships (or the id's absence), and removes those of older key sets it no longer has. */
  private async index(
    id: number,
    entry: DirectoryEntry | undefined,
    older: (readonly string[])[],
  ): Promise<void> {
    const member = String(id);
    const writes: Promise<unknown>[] = [];
    const keepGrams = gramsOf(entry?.keys ?? []);
    const keepLex = new Set(entry ? entry.keys.map((k) => lexMember(k, entry.keys[0], id)) : []);
    if (entry) {
      writes.push(this.client.zadd(this.keys.ids, id, member));
      for (const key of new Set(entry.keys))
        writes.push(this.client.zadd(this.keys.lex(key), 0, lexMember(key, entry.keys[0], id)));
      for (const gram of keepGrams) writes.push(this.client.sadd(this.keys.gram(gram), member));
    } else writes.push(this.client.zrem(this.keys.ids, member));
    const dropLex = new Set<string>();
    const dropGrams = new Set<string>();
    for (const keys of older) {
      for (const key of keys) {
        const lex = lexMember(key, keys[0]!, id);
        if (!keepLex.has(lex)) dropLex.add(lex);
      }
      for (const gram of gramsOf(keys)) if (!keepGrams.has(gram)) dropGrams.add(gram);
    }
    for (const lex of dropLex) writes.push(this.client.zrem(this.keys.lex(lex), lex));
    for (const gram of dropGrams) writes.push(this.client.srem(this.keys.gram(gram), member));
    await Promise.all(writes);
  }
}

/** Pending keys (`<id>:x`) as the key sets they were written as: four keys each, the username first. */
function tuples(pending: string): string[][] {
  if (!pending) return [];
  const keys = pending.split(SEP);
  const sets: string[][] = [];
  for (let i = 0; i + 4 <= keys.length; i += 4) sets.push(keys.slice(i, i + 4));
  return sets;
}
