import type { Redis } from 'ioredis';
import { APPLY_ACTIVITIES, APPLY_USERS_EVENTS } from './projection.scripts.js';

/** One activity ready to apply: its offset and the strings the script stores. */
export interface ActivityWrite {
  offset: string;
  userId: number;
  eventId: string;
  /** Kafka record timestamp (ms): the dedup window is measured on it, so replays are deterministic. */
  seenAt: number;
  workspaceId: number;
  /** The feed entry (`feedEntry`): member and activity JSON. */
  entry: string;
  /** The record's W3C traceparent header, passed on in the live notice; '' when none. */
  traceparent: string;
}

export interface ApplyResult {
  applied: number;
  duplicates: number;
  dropped: number;
  stale: number;
}

/**
 * The Redis layout this version reads and writes. Bump it when the layout changes: a service
 * finding projections in another layout refuses to touch them until they are rebuilt.
 *   1: count/wslast/wscount keys, items hash (before 0.1.0)
 *   2: stats hash, JSON inside feed entries
 */
export const PROJECTION_LAYOUT = '2';

/** The projections in Redis were written by another layout version. */
export class LayoutMismatchError extends Error {
  constructor(found: string) {
    super(`the projections under this prefix use layout ${found}; this version reads and writes layout ${PROJECTION_LAYOUT}. Rebuild them: stop the consumers, run \`npm run projections:rebuild\` (docs/operations.md)`);
    this.name = 'LayoutMismatchError';
  }
}

/** Events per group in one script call: keeps Lua's unpack() well inside its stack limit. */
const MAX_GROUP = 1000;

type ScriptRedis = Redis & {
  applyActivities(...args: (string | number)[]): Promise<[number, number, number, number]>;
  applyUsersEvents(...args: (string | number)[]): Promise<number>;
};

/** Applies batches to the Redis projections and keeps each partition's next offset beside them. */
export class ProjectionStore {
  private readonly redis: ScriptRedis;
  readonly offsetsKey: string;

  constructor(
    redis: Redis,
    readonly prefix: string,
    private readonly options: { feedCap: number; dedupWindowMs: number; shardedPubSub?: boolean },
  ) {
    redis.defineCommand('applyActivities', { numberOfKeys: 0, lua: APPLY_ACTIVITIES });
    redis.defineCommand('applyUsersEvents', { numberOfKeys: 0, lua: APPLY_USERS_EVENTS });
    this.redis = redis as ScriptRedis;
    this.offsetsKey = `${prefix}offsets`;
  }

  /** '0' no live notices, '1' PUBLISH, 'sharded' SPUBLISH. */
  private liveMode(publishLive: boolean): string {
    if (!publishLive) return '0';
    return this.options.shardedPubSub ? 'sharded' : '1';
  }

  private field(topic: string, partition: number): string {
    return `${topic}:${partition}`;
  }

  /**
   * Claims the prefix for this layout: empty projections get it; projections of the same layout
   * pass; anything else (including data from before layouts were recorded) is a LayoutMismatchError.
   */
  async claimLayout(): Promise<void> {
    const key = `${this.prefix}layout`;
    const [found, hasOffsets] = await Promise.all([this.redis.get(key), this.redis.exists(this.offsetsKey)]);
    if (found === PROJECTION_LAYOUT) return;
    if (found !== null) throw new LayoutMismatchError(found);
    if (hasOffsets) throw new LayoutMismatchError('1');
    await this.redis.set(key, PROJECTION_LAYOUT, 'NX');
  }

  /** The next offset to apply for a partition; undefined when the projection has none. */
  async storedOffset(topic: string, partition: number): Promise<string | undefined> {
    return (await this.redis.hget(this.offsetsKey, this.field(topic, partition))) ?? undefined;
  }

  async allOffsets(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.offsetsKey);
  }

  /** One round trip: dedup, count, feed (capped), recency, live notices, and the offset. */
  async applyActivities(topic: string, partition: number, writes: ActivityWrite[], nextOffset: string, publishLive: boolean): Promise<ApplyResult> {
    // Grouped by user (a stable sort keeps each user's partition order) so the script does per-user work once.
    const grouped = [...writes].sort((a, b) => a.userId - b.userId);
    const args: (string | number)[] = [this.prefix, this.offsetsKey, this.field(topic, partition), nextOffset, this.options.feedCap, this.options.dedupWindowMs, this.liveMode(publishLive), 0];
    let groups = 0;
    for (let start = 0; start < grouped.length; ) {
      const userId = grouped[start]!.userId;
      let end = start + 1;
      while (end < grouped.length && end - start < MAX_GROUP && grouped[end]!.userId === userId) end++;
      const header = args.push(userId, end - start, 0) - 1;
      let maxSeen = 0;
      for (let i = start; i < end; i++) {
        const w = grouped[i]!;
        args.push(w.offset, w.eventId, w.seenAt, w.workspaceId, w.entry, w.traceparent);
        if (w.seenAt > maxSeen) maxSeen = w.seenAt;
      }
      // The group's newest Kafka timestamp: the dedup window is trimmed against it.
      args[header] = maxSeen;
      groups++;
      start = end;
    }
    args[7] = groups;
    const [applied, duplicates, dropped, stale] = await this.redis.applyActivities(...args);
    return { applied, duplicates, dropped, stale };
  }

  /** One round trip: access replica, deletions (purge + tombstone), workspace renames, and the offset. */
  async applyUsersEvents(topic: string, partition: number, events: { offset: string; json: string }[], nextOffset: string, publishLive: boolean): Promise<number> {
    const args: (string | number)[] = [this.prefix, this.offsetsKey, this.field(topic, partition), nextOffset, this.liveMode(publishLive), events.length];
    for (const e of events) args.push(e.offset, e.json);
    return this.redis.applyUsersEvents(...args);
  }
}
