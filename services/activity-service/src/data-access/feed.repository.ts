import type { Redis } from 'ioredis';
import { FeedBounds, RedisKeys, splitFeedEntry } from '@suite/contracts';

export interface FeedEntry {
  member: string;
  json: string;
}

/** Reads the projections: feed pages, counts, recency and the access replica. */
export class FeedRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Up to `count` entries older than `before` (a feed member), newest first. */
  async older(userId: number, before: string | undefined, count: number): Promise<FeedEntry[]> {
    const max = before === undefined ? '+' : FeedBounds.before(before);
    const entries = await this.redis.zrevrangebylex(RedisKeys.feed(this.prefix, userId), max, '-', 'LIMIT', 0, count);
    return entries.map(splitFeedEntry);
  }

  async count(userId: number): Promise<number> {
    return Number((await this.redis.hget(RedisKeys.stats(this.prefix, userId), 'n')) ?? 0);
  }

  /** Per workspace: last active time (ms) and count, with the user's access replica. */
  async recency(userId: number): Promise<{ last: Record<string, string>; counts: Record<string, string>; access: Record<string, string> }> {
    const [stats, access] = await Promise.all([this.redis.hgetall(RedisKeys.stats(this.prefix, userId)), this.redis.hgetall(`${RedisKeys.user(this.prefix, userId)}access`)]);
    const last: Record<string, string> = {};
    const counts: Record<string, string> = {};
    for (const [field, value] of Object.entries(stats)) {
      if (field.startsWith('l:')) last[field.slice(2)] = value;
      else if (field.startsWith('c:')) counts[field.slice(2)] = value;
    }
    return { last, counts, access };
  }
}
