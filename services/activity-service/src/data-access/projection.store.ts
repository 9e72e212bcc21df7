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
  member: string;
  json: string;
  cursor: string;
}

export interface ApplyResult {
  applied: number;
  duplicates: number;
  dropped: number;
  stale: number;
}

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

  /** The next offset to apply for a partition; undefined when the projection has none. */
  async storedOffset(topic: string, partition: number): Promise<string | undefined> {
    return (await this.redis.hget(this.offsetsKey, this.field(topic, partition))) ?? undefined;
  }

  async allOffsets(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.offsetsKey);
  }

  /** One round trip: dedup, count, feed (capped), recency, live notices, and the offset. */
  async applyActivities(topic: string, partition: number, writes: ActivityWrite[], nextOffset: string, publishLive: boolean): Promise<ApplyResult> {
    const args: (string | number)[] = [
      this.prefix, this.offsetsKey, this.field(topic, partition), nextOffset,
      this.options.feedCap, this.options.dedupWindowMs, this.liveMode(publishLive), writes.length,
    ];
    // Grouped by user (a stable sort keeps each user's partition order) so the script does per-user work once.
    const grouped = [...writes].sort((a, b) => a.userId - b.userId);
    for (const w of grouped) args.push(w.offset, w.userId, w.eventId, w.seenAt, w.workspaceId, w.member, w.json, w.cursor);
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
