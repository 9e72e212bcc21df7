import type { Redis } from 'ioredis';
import { RedisKeys } from '@suite/contracts';

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
    const max = before === undefined ? '+' : `(${before}`;
    const members = await this.redis.zrevrangebylex(RedisKeys.feed(this.prefix, userId), max, '-', 'LIMIT', 0, count);
    if (members.length === 0) return [];
    const values = await this.redis.hmget(RedisKeys.items(this.prefix, userId), ...members);
    return members.flatMap((member, i) => (values[i] ? [{ member, json: values[i]! }] : []));
  }

  async count(userId: number): Promise<number> {
    return Number((await this.redis.get(`${RedisKeys.user(this.prefix, userId)}count`)) ?? 0);
  }

  async recency(userId: number): Promise<{ last: Record<string, string>; counts: Record<string, string>; access: Record<string, string> }> {
    const u = RedisKeys.user(this.prefix, userId);
    const [last, counts, access] = await Promise.all([this.redis.hgetall(`${u}wslast`), this.redis.hgetall(`${u}wscount`), this.redis.hgetall(`${u}access`)]);
    return { last, counts, access };
  }
}
