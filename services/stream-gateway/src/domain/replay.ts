import type { Redis } from 'ioredis';
import { FeedBounds, RedisKeys, splitFeedEntry } from '@suite/contracts';

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
    return size >= this.feedCap && oldest[0] !== undefined && member < splitFeedEntry(oldest[0]).member;
  }

  /** Calls `each` for every entry after `after` (or all when undefined), oldest first, page by page. */
  async forEachAfter(userId: number, after: string | undefined, each: (member: string, json: string) => void): Promise<void> {
    const feed = RedisKeys.feed(this.prefix, userId);
    let min = after === undefined ? '-' : FeedBounds.after(after);
    for (;;) {
      const entries = await this.redis.zrangebylex(feed, min, '+', 'LIMIT', 0, PAGE);
      let member = '';
      for (const entry of entries) {
        const split = splitFeedEntry(entry);
        member = split.member;
        each(member, split.json);
      }
      if (entries.length < PAGE) return;
      min = FeedBounds.after(member);
    }
  }
}
