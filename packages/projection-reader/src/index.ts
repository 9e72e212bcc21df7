import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '@suite/redis';
import { FEED_ENTRY_SEPARATOR, FeedBounds, ProjectionKeys, StatsField } from '@suite/contracts';
import { TickBatcher } from './tick-batcher.js';

/**
 * One atomic read of a user's stream: the epoch, the newest position, the tombstone, the oldest
 * retained position, and up to `limit` log entries after `after`. Positions are contiguous (one
 * per applied activity), so a list index is a position: the oldest retained entry has
 * `seq - LLEN + 1`. KEYS: stats, log (one user, one hash tag). ARGV: after, limit, and the stats
 * field names for epoch, position and tombstone.
 */
const READ_STREAM = `
local h = redis.call('HMGET', KEYS[1], ARGV[3], ARGV[4], ARGV[5])
local seq = tonumber(h[2] or '0')
local oldest = seq - redis.call('LLEN', KEYS[2]) + 1
local from = math.max(tonumber(ARGV[1]) + 1, oldest)
local entries = {}
if from <= seq then entries = redis.call('LRANGE', KEYS[2], from - oldest, from - oldest + tonumber(ARGV[2]) - 1) end
return { h[1] or false, seq, h[3] and 1 or 0, oldest, from, entries }
`;

/** Where a user's stream stands. */
export interface StreamHead {
  /** The epoch of the positions; null while the user has no stream (no activity in this generation). */
  epoch: string | null;
  /** The newest position (0 when there is none). */
  position: number;
  /** The oldest position the log still holds (position + 1 when the log is empty). */
  oldest: number;
  deleted: boolean;
}

export interface StreamEntry {
  position: number;
  json: string;
}

export interface FeedEntry {
  /** The entry's sort key (`feedMember`), decoded when asked for: a page needs only its last one. */
  readonly member: string;
  /** The activity, UTF-8 JSON as stored (not decoded: a page is sent on as bytes). */
  json: Buffer;
}

/** A feed entry read as bytes: the member is decoded on first use. */
class StoredFeedEntry implements FeedEntry {
  readonly json: Buffer;
  constructor(
    private readonly entry: Buffer,
    private readonly at: number,
  ) {
    this.json = entry.subarray(at + 1);
  }

  get member(): string {
    return this.entry.toString('utf8', 0, this.at);
  }
}

const SEPARATOR = FEED_ENTRY_SEPARATOR.charCodeAt(0);

type StreamReply = [string | null, number, number, number, number, string[]];
type ReaderCommander = (ChainableCommander | RedisClient) & {
  readStream(stats: string, log: string, after: number, limit: number, ...fields: string[]): unknown;
};

/** Reads the projections the activity-service writes; used by its read API and by the stream gateway. */
export class ProjectionReader {
  private readonly batcher: TickBatcher;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    redis.defineCommand('readStream', { numberOfKeys: 2, lua: READ_STREAM });
    this.batcher = new TickBatcher(redis);
  }

  /** Up to `limit` stream entries after position `after`, oldest first, with the head read in the same atomic step. */
  async streamAfter(userId: number, after: number, limit: number): Promise<{ head: StreamHead; entries: StreamEntry[] }> {
    const stats = ProjectionKeys.stats(this.prefix, userId);
    const log = ProjectionKeys.log(this.prefix, userId);
    const [epoch, position, deleted, oldest, from, entries] = await this.batcher.run<StreamReply>((p) =>
      (p as ReaderCommander).readStream(stats, log, after, limit, StatsField.epoch, StatsField.position, StatsField.deleted),
    );
    return { head: { epoch, position, oldest, deleted: deleted === 1 }, entries: entries.map((json, i) => ({ position: from + i, json })) };
  }

  /** Up to `count` feed entries older than `before` (a feed member), newest first by event time. */
  async feedOlder(userId: number, before: string | undefined, count: number): Promise<FeedEntry[]> {
    const max = before === undefined ? '+' : FeedBounds.before(before);
    const key = ProjectionKeys.feed(this.prefix, userId);
    const entries = await this.batcher.run<Buffer[]>((p) => p.zrevrangebylexBuffer(key, max, '-', 'LIMIT', 0, count));
    // An entry is the member, the separator, the activity JSON (`feedEntry`).
    return entries.map((entry) => new StoredFeedEntry(entry, entry.indexOf(SEPARATOR)));
  }

  /** The exact number of distinct activities applied for the user. */
  async count(userId: number): Promise<number> {
    const key = ProjectionKeys.stats(this.prefix, userId);
    return Number((await this.batcher.run<string | null>((p) => p.hget(key, StatsField.count))) ?? 0);
  }

  /** Per workspace: last active time (ms) and count, with the user's access replica (workspace -> JSON). */
  async recency(userId: number): Promise<{ last: Record<string, string>; counts: Record<string, string>; access: Record<string, string> }> {
    const [stats, access] = await Promise.all([
      this.batcher.run<Record<string, string>>((p) => p.hgetall(ProjectionKeys.stats(this.prefix, userId))),
      this.batcher.run<Record<string, string>>((p) => p.hgetall(ProjectionKeys.access(this.prefix, userId))),
    ]);
    const last: Record<string, string> = {};
    const counts: Record<string, string> = {};
    for (const [field, value] of Object.entries(stats)) {
      if (field.startsWith(StatsField.lastActive)) last[field.slice(StatsField.lastActive.length)] = value;
      else if (field.startsWith(StatsField.workspaceCount)) counts[field.slice(StatsField.workspaceCount.length)] = value;
    }
    return { last, counts, access };
  }
}
