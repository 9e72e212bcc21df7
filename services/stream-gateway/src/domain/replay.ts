import type { Redis } from 'ioredis';
import { RedisKeys } from '@suite/contracts';

const PAGE = 200;

/** Reads what a client missed: feed entries after its cursor, oldest first. */
export class FeedReader {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly feedCap: number,
  ) {}

  /** True when entries older than `member` may have been evicted past it (the client needs a reset). */
  async isTooOld(userId: number, member: string): Promise<boolean> {
    const key = RedisKeys.feed(this.prefix, userId);
    const [oldest, size] = await Promise.all([this.redis.zrange(key, 0, 0), this.redis.zcard(key)]);
    return size >= this.feedCap && oldest[0] !== undefined && member < oldest[0];
  }

  /** Calls `each` for every entry after `after` (or all when undefined), oldest first, page by page. */
  async forEachAfter(userId: number, after: string | undefined, each: (member: string, json: string) => void): Promise<void> {
    const feed = RedisKeys.feed(this.prefix, userId);
    const items = RedisKeys.items(this.prefix, userId);
    let min = after === undefined ? '-' : `(${after}`;
    for (;;) {
      const members = await this.redis.zrangebylex(feed, min, '+', 'LIMIT', 0, PAGE);
      if (members.length === 0) return;
      const values = await this.redis.hmget(items, ...members);
      members.forEach((m, i) => {
        if (values[i]) each(m, values[i]!);
      });
      if (members.length < PAGE) return;
      min = `(${members.at(-1)}`;
    }
  }
}
