import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '@suite/redis';
import { PROJECTION_LAYOUT_VERSION, ProjectionKeys, StatsField, encodeLiveBatch, feedEntry, parseLayout } from '@suite/contracts';
import type { PartitionConnections } from './partition-connections.js';

/** One valid activity record, ready to apply. */
export interface ActivityWrite {
  offset: bigint;
  userId: number;
  eventId: string;
  /** Kafka record timestamp (ms): the dedup window is measured on it, so replays decide alike. */
  seenAt: number;
  workspaceId: number;
  /** Event time (ms). */
  timeMs: number;
  /** The feed member (`feedMember`). */
  member: string;
  /** The activity as the API returns it, JSON. */
  json: string;
  /** The record's W3C traceparent, passed on in the live batch; '' when none. */
  traceparent: string;
}

/** The records one transaction covers: offsets `first`..`last` of a partition, valid or not. */
export interface RecordRange {
  topic: string;
  partition: number;
  first: bigint;
  last: bigint;
  /** `first` is the partition's log start: apply from it even when the stored offset is lower or missing. */
  fromLogStart: boolean;
}

export type ApplyOutcome =
  | { kind: 'applied'; applied: number; duplicates: number; dropped: number; stale: number }
  /** The stored offset is before this range (or missing): RedisClient is behind the consumer. */
  | { kind: 'behind'; stored: bigint | null }
  /** The projections are gone (no layout key). */
  | { kind: 'lost' }
  /** Another layout version owns the prefix. */
  | { kind: 'foreign'; found: string };

/** How live batches are published: not at all, PUBLISH, or SPUBLISH (sharded pub/sub). */
export type LiveMode = 'off' | 'publish' | 'spublish';

export interface TransactionOptions {
  feedCap: number;
  dedupWindowMs: number;
  /** Workspaces whose recency and count a user's stats keep; past it the least recently active are evicted. */
  workspaceCap: number;
  /** Event ids a user's dedup set keeps at most (the newest), however many the window holds. */
  dedupMaxIds: number;
  live: LiveMode;
}

/** A transaction aborted by a concurrent writer is retried (reads and decisions again) this many times. */
const MAX_ATTEMPTS = 100;

/** Fields read per user before deciding: the tombstone, count, position, dedup clock, tracked workspaces, then per workspace last/count. */
const HEAD_FIELDS = [StatsField.deleted, StatsField.count, StatsField.position, StatsField.seenUntil, StatsField.workspaces];

interface UserGroup {
  userId: number;
  stats: string;
  seen: string;
  feed: string;
  log: string;
  channel: string;
  writes: ActivityWrite[];
  ids: string[];
  /** HMGET fields: HEAD_FIELDS, then `l:<ws>`, `c:<ws>` for each workspace in `workspaces` order. */
  fields: string[];
  workspaces: number[];
}

function groupByUser(prefix: string, writes: ActivityWrite[]): UserGroup[] {
  const groups = new Map<number, UserGroup>();
  for (const w of writes) {
    let g = groups.get(w.userId);
    if (!g) {
      const u = ProjectionKeys.user(prefix, w.userId);
      g = { userId: w.userId, stats: `${u}stats`, seen: `${u}seen`, feed: `${u}feed`, log: `${u}log`, channel: ProjectionKeys.liveChannel(prefix, w.userId), writes: [], ids: [], fields: [...HEAD_FIELDS], workspaces: [] };
      groups.set(w.userId, g);
    }
    g.writes.push(w);
    g.ids.push(w.eventId);
    if (!g.workspaces.includes(w.workspaceId)) {
      g.workspaces.push(w.workspaceId);
      g.fields.push(`${StatsField.lastActive}${w.workspaceId}`, `${StatsField.workspaceCount}${w.workspaceId}`);
    }
  }
  return [...groups.values()];
}

type Counts = { applied: number; duplicates: number; dropped: number; stale: number };

/**
 * Applies a chunk of one partition's activity records in one optimistic transaction:
 *
 * 1. WATCH the layout key, the partition's offset key and every user's stats hash, and read (one
 *    pipeline) the layout, the stored offset, each user's tombstone/count/position/workspace
 *    stats and which event ids the dedup window already holds;
 * 2. decide in Node: is Redis where this consumer is (layout present, stored offset inside the
 *    range), which records are new, their positions, the new stats;
 * 3. MULTI: the writes, one live batch per user, and the partition's next offset; EXEC.
 *
 * Any concurrent write to a watched key (another consumer on the partition after a rebalance, a
 * user deletion, a rebuild dropping the layout) aborts the EXEC, and the whole step runs again
 * on fresh reads. Redis CPU per event is the commands alone: no script runs.
 */
export class ActivityTransactions {
  constructor(
    private readonly connections: PartitionConnections,
    private readonly prefix: string,
    private readonly options: TransactionOptions,
  ) {}

  async apply(range: RecordRange, writes: ActivityWrite[]): Promise<ApplyOutcome> {
    const groups = groupByUser(this.prefix, writes);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(range, groups, writes.length);
      if (outcome) return outcome;
      if (attempt === MAX_ATTEMPTS) throw new Error(`the transaction for ${range.topic}:${range.partition} was aborted by concurrent writers ${MAX_ATTEMPTS} times`);
    }
  }

  /** One read-decide-write round; undefined when EXEC was aborted by a concurrent write. */
  private async attempt(range: RecordRange, groups: UserGroup[], writes: number): Promise<ApplyOutcome | undefined> {
    const connection = await this.connections.get(range.topic, range.partition);
    const { redis } = connection;
    const drops = connection.drops;
    const layoutKey = ProjectionKeys.layout(this.prefix);
    const offsetKey = ProjectionKeys.offset(this.prefix, range.topic, range.partition);

    const read = redis.pipeline();
    read.watch(layoutKey, offsetKey, ...groups.map((g) => g.stats));
    read.get(layoutKey);
    read.get(offsetKey);
    for (const g of groups) {
      read.hmget(g.stats, ...g.fields);
      read.zmscore(g.seen, ...g.ids);
    }
    const replies = (await read.exec())!;
    for (const [err] of replies) if (err) throw err;
    const value = (at: number) => replies[at]![1];

    const layout = value(1) as string | null;
    const unwatch = async <T>(outcome: T) => {
      await redis.unwatch();
      return outcome;
    };
    if (layout === null) return unwatch({ kind: 'lost' } as const);
    const { version, generation } = parseLayout(layout);
    if (version !== PROJECTION_LAYOUT_VERSION || generation === undefined) return unwatch({ kind: 'foreign', found: layout } as const);
    const storedText = value(2) as string | null;
    const stored = storedText === null ? null : BigInt(storedText);
    let start = stored ?? range.first;
    if (stored === null || stored < range.first) {
      if (!range.fromLogStart) return unwatch({ kind: 'behind', stored } as const);
      start = range.first;
    }
    const next = range.last + 1n;
    if (start >= next) return unwatch({ kind: 'applied', applied: 0, duplicates: 0, dropped: 0, stale: writes } as const);

    const stats = groups.map((_, gi) => value(3 + 2 * gi) as (string | null)[]);
    const tracked = await this.trackedWorkspaces(redis, groups, stats);
    const tx = redis.multi();
    const counts: Counts = { applied: 0, duplicates: 0, dropped: 0, stale: 0 };
    for (let gi = 0; gi < groups.length; gi++) {
      this.writeGroup(tx, groups[gi]!, stats[gi]!, value(4 + 2 * gi) as (string | null)[], start, generation, counts, tracked.get(gi));
    }
    tx.set(offsetKey, String(next));
    // The WATCH lives on the connection: after a reconnect it is gone, and EXEC would not be guarded.
    // (The MULTI is queued client-side until exec: nothing has been sent.)
    if (connection.drops !== drops || redis.status !== 'ready') {
      throw new Error(`the Redis connection for ${range.topic}:${range.partition} dropped during the transaction`);
    }
    const result = await tx.exec();
    if (result === null) return undefined;
    for (const [err] of result) if (err) throw err;
    return { kind: 'applied', ...counts };
  }

  /**
   * For the users whose batch may take them past the workspace cap (or whose stats predate the
   * tracked-workspace count), every workspace the stats track with its last activity time: a second
   * read under the same WATCH, needed only at the cap.
   */
  private async trackedWorkspaces(redis: RedisClient, groups: UserGroup[], stats: (string | null)[][]): Promise<Map<number, Map<number, number>>> {
    const scan: number[] = [];
    groups.forEach((g, gi) => {
      const head = stats[gi]!;
      if (head[0] !== null) return;
      const fresh = g.workspaces.filter((_, s) => head[HEAD_FIELDS.length + 2 * s] === null).length;
      const known = head[4] === null ? (head[1] === null ? 0 : undefined) : Number(head[4]);
      if (fresh > 0 && (known === undefined || known + fresh > this.options.workspaceCap)) scan.push(gi);
    });
    const tracked = new Map<number, Map<number, number>>();
    if (scan.length === 0) return tracked;
    const read = redis.pipeline();
    for (const gi of scan) read.hgetall(groups[gi]!.stats);
    const replies = (await read.exec())!;
    scan.forEach((gi, i) => {
      const [err, all] = replies[i]!;
      if (err) throw err;
      const last = new Map<number, number>();
      for (const [field, value] of Object.entries(all as Record<string, string>)) {
        if (field.startsWith(StatsField.lastActive)) last.set(Number(field.slice(StatsField.lastActive.length)), Number(value));
      }
      tracked.set(gi, last);
    });
    return tracked;
  }

  /** Queues one user's writes: dedup, feed, stream log with positions, stats, live batch. */
  private writeGroup(tx: ChainableCommander, g: UserGroup, stats: (string | null)[], known: (string | null)[], start: bigint, generation: string, counts: Counts, tracked?: Map<number, number>): void {
    if (stats[0] !== null) {
      for (const w of g.writes) {
        if (w.offset < start) counts.stale++;
        else counts.dropped++;
      }
      return;
    }
    const window = this.options.dedupWindowMs;
    const marks: (string | number)[] = [];
    const feed: string[] = [];
    const log: string[] = [];
    const fresh: ActivityWrite[] = [];
    // Ids applied in this group, with the record time they were applied at.
    const applied = new Map<string, number>();
    const last = new Array<number>(g.workspaces.length).fill(0);
    const added = new Array<number>(g.workspaces.length).fill(0);
    // The dedup window is measured on the user's own clock: the newest record time applied so far.
    // It only moves forward in partition order, so the same records make the same decisions
    // however they are split into batches (a replay decides as the first run did).
    let clock = Number(stats[3] ?? 0);
    for (let i = 0; i < g.writes.length; i++) {
      const w = g.writes[i]!;
      if (w.offset < start) {
        counts.stale++;
        continue;
      }
      const now = Math.max(clock, w.seenAt);
      const seenAt = applied.get(w.eventId) ?? (known[i] === null ? undefined : Number(known[i]));
      if (seenAt !== undefined && now - seenAt <= window) {
        counts.duplicates++;
        continue;
      }
      applied.set(w.eventId, w.seenAt);
      clock = now;
      marks.push(w.seenAt, w.eventId);
      feed.push('0', feedEntry(w.member, w.json));
      log.push(w.json);
      fresh.push(w);
      const slot = g.workspaces.indexOf(w.workspaceId);
      if (w.timeMs > last[slot]!) last[slot] = w.timeMs;
      added[slot]! += 1;
    }
    const k = fresh.length;
    if (k === 0) return;
    const count = Number(stats[1] ?? 0) + k;
    const first = Number(stats[2] ?? 0) + 1;
    const set: (string | number)[] = [StatsField.count, count, StatsField.position, first + k - 1, StatsField.epoch, generation, StatsField.seenUntil, clock];
    const { fields, evicted, total } = tracked ? this.atCap(g, stats, fresh, tracked) : this.underCap(g, stats, last, added);
    set.push(...fields);
    // Stats from before the count existed keep none until their first new workspace counts them all.
    if (total !== undefined) set.push(StatsField.workspaces, total);
    if (evicted.length > 0) tx.hdel(g.stats, ...evicted.flatMap((ws) => [`${StatsField.lastActive}${ws}`, `${StatsField.workspaceCount}${ws}`]));
    const { feedCap, live, dedupMaxIds } = this.options;
    tx.zadd(g.seen, ...marks);
    // Ids older than the window can never match again: the clock only moves forward.
    tx.zremrangebyscore(g.seen, '-inf', `(${clock - window}`);
    // However many the window holds, the newest dedupMaxIds are kept (a bound per user).
    tx.zremrangebyrank(g.seen, 0, -dedupMaxIds - 1);
    tx.zadd(g.feed, ...feed);
    tx.zremrangebyrank(g.feed, 0, -feedCap - 1);
    tx.rpush(g.log, ...log);
    tx.ltrim(g.log, -feedCap, -1);
    tx.hset(g.stats, ...set);
    if (live !== 'off') {
      const batch = encodeLiveBatch(generation, first, fresh);
      if (live === 'spublish') tx.spublish(g.channel, batch);
      else tx.publish(g.channel, batch);
    }
    counts.applied += k;
  }

  /** The workspace fields to set when the batch cannot reach the cap: every workspace it touched, and the new count. */
  private underCap(g: UserGroup, stats: (string | null)[], last: number[], added: number[]): { fields: (string | number)[]; evicted: number[]; total: number | undefined } {
    const fields: (string | number)[] = [];
    let fresh = 0;
    for (let s = 0; s < g.workspaces.length; s++) {
      if (added[s] === 0) continue;
      const at = HEAD_FIELDS.length + 2 * s;
      if (stats[at] === null) fresh++;
      fields.push(g.fields[at]!, Math.max(last[s]!, Number(stats[at] ?? 0)), g.fields[at + 1]!, Number(stats[at + 1] ?? 0) + added[s]!);
    }
    const counted = stats[4] === null ? (stats[1] === null ? 0 : undefined) : Number(stats[4]);
    return { fields, evicted: [], total: counted === undefined ? undefined : counted + fresh };
  }

  /**
   * At the cap: the batch's activities taken one by one, each workspace's recency and count updated
   * and, past `workspaceCap`, the least recently active (then the lowest id) forgotten, with its count.
   * One at a time, so the outcome is the same however the log is cut into batches (a rebuild agrees).
   */
  private atCap(g: UserGroup, stats: (string | null)[], fresh: ActivityWrite[], tracked: Map<number, number>): { fields: (string | number)[]; evicted: number[]; total: number } {
    const slot = (ws: number) => HEAD_FIELDS.length + 2 * g.workspaces.indexOf(ws);
    const state = new Map<number, { last: number; count: number }>();
    for (const [ws, last] of tracked) {
      const i = g.workspaces.indexOf(ws);
      state.set(ws, { last, count: i < 0 ? 0 : Number(stats[slot(ws) + 1] ?? 0) });
    }
    const touched = new Set<number>();
    for (const w of fresh) {
      const entry = state.get(w.workspaceId) ?? { last: 0, count: 0 };
      state.set(w.workspaceId, { last: Math.max(entry.last, w.timeMs), count: entry.count + 1 });
      touched.add(w.workspaceId);
      if (state.size > this.options.workspaceCap) {
        let oldest: [number, number] | undefined;
        for (const [ws, { last }] of state) if (!oldest || last < oldest[1] || (last === oldest[1] && ws < oldest[0])) oldest = [ws, last];
        state.delete(oldest![0]);
      }
    }
    const fields: (string | number)[] = [];
    for (const ws of touched) {
      const entry = state.get(ws);
      if (entry) fields.push(`${StatsField.lastActive}${ws}`, entry.last, `${StatsField.workspaceCount}${ws}`, entry.count);
    }
    return { fields, evicted: [...tracked.keys()].filter((ws) => !state.has(ws)), total: state.size };
  }
}
