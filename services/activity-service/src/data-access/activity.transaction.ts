import type { ChainableCommander } from 'ioredis';
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
  /** The stored offset is before this range (or missing): Redis is behind the consumer. */
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
  live: LiveMode;
}

/** A transaction aborted by a concurrent writer is retried (reads and decisions again) this many times. */
const MAX_ATTEMPTS = 100;

/** Fields read per user before deciding: the tombstone, count, position, dedup clock, then per workspace last/count. */
const HEAD_FIELDS = [StatsField.deleted, StatsField.count, StatsField.position, StatsField.seenUntil];

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

    const tx = redis.multi();
    const counts: Counts = { applied: 0, duplicates: 0, dropped: 0, stale: 0 };
    for (let gi = 0; gi < groups.length; gi++) {
      this.writeGroup(tx, groups[gi]!, value(3 + 2 * gi) as (string | null)[], value(4 + 2 * gi) as (string | null)[], start, generation, counts);
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

  /** Queues one user's writes: dedup, feed, stream log with positions, stats, live batch. */
  private writeGroup(tx: ChainableCommander, g: UserGroup, stats: (string | null)[], known: (string | null)[], start: bigint, generation: string, counts: Counts): void {
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
    for (let s = 0; s < g.workspaces.length; s++) {
      if (added[s] === 0) continue;
      const at = HEAD_FIELDS.length + 2 * s;
      set.push(g.fields[at]!, Math.max(last[s]!, Number(stats[at] ?? 0)), g.fields[at + 1]!, Number(stats[at + 1] ?? 0) + added[s]!);
    }
    const { feedCap, live } = this.options;
    tx.zadd(g.seen, ...marks);
    // Ids older than the window can never match again: the clock only moves forward.
    tx.zremrangebyscore(g.seen, '-inf', `(${clock - window}`);
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
}
