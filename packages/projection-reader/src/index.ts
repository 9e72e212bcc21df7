import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '@suite/redis';
import { FEED_BLOCK_SIZE, ProjectionKeys, StatsField, type FeedKey } from '@suite/contracts';
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

/**
 * One atomic read of a feed page: up to `count` entries older than a feed key, newest first by
 * event time (then position, compared as text). The feed blocks (`ProjectionKeys.feedBlock`) index
 * the log's positions by event time; each block is sorted, so a page merges the blocks' heads. A
 * block's newest entry is read first and blocks are taken newest first until the next one cannot
 * beat the page's last entry: with event times that mostly follow arrival, a page reads one or two
 * blocks. The activities come from the log, one LRANGE when the page's positions lie close together.
 * KEYS: stats, log, feed (the blocks' base name). ARGV: position field, before time ('' for the
 * newest), before member, count. Returns time, position, activity JSON per entry.
 */
const READ_FEED = `
local seq = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local len = redis.call('LLEN', KEYS[2])
if len == 0 then return {} end
local oldest, F, n = seq - len + 1, ${FEED_BLOCK_SIZE}, tonumber(ARGV[4])
local bt, bm = tonumber(ARGV[2]), ARGV[3]
local function newer(t1, m1, t2, m2) return t1 > t2 or (t1 == t2 and m1 > m2) end
-- A block's entries before the cursor, newest first, at most limit: time, position, time, position...
local function take(key, limit)
  local out, from = {}, '+inf'
  if bt then
    for _, m in ipairs(redis.call('ZREVRANGEBYSCORE', key, ARGV[2], ARGV[2])) do
      if m < bm then
        out[#out + 1] = bt
        out[#out + 1] = m
        if #out == 2 * limit then return out end
      end
    end
    from = '(' .. ARGV[2]
  end
  local more = redis.call('ZREVRANGEBYSCORE', key, from, '-inf', 'WITHSCORES', 'LIMIT', 0, limit - #out / 2)
  for j = 1, #more, 2 do
    out[#out + 1] = tonumber(more[j + 1])
    out[#out + 1] = more[j]
  end
  return out
end
local heads = {}
for b = math.floor(oldest / F), math.floor(seq / F) do
  local key = KEYS[3] .. ':' .. b
  local top = take(key, 1)
  if #top > 0 then heads[#heads + 1] = { key, top[1], top[2] } end
end
table.sort(heads, function(x, y) return newer(x[2], x[3], y[2], y[3]) end)
local page = {}
for _, head in ipairs(heads) do
  if #page >= 2 * n and not newer(head[2], head[3], page[2 * n - 1], page[2 * n]) then break end
  local got, merged, a, c = take(head[1], n), {}, 1, 1
  while #merged < 2 * n and (a <= #page or c <= #got) do
    if c > #got or (a <= #page and newer(page[a], page[a + 1], got[c], got[c + 1])) then
      merged[#merged + 1] = page[a]
      merged[#merged + 1] = page[a + 1]
      a = a + 2
    else
      merged[#merged + 1] = got[c]
      merged[#merged + 1] = got[c + 1]
      c = c + 2
    end
  end
  page = merged
end
if #page == 0 then return {} end
local lo, hi = math.huge, 0
for j = 2, #page, 2 do
  local p = tonumber(page[j])
  if p < lo then lo = p end
  if p > hi then hi = p end
end
local near = hi - lo < 4 * n and redis.call('LRANGE', KEYS[2], lo - oldest, hi - oldest)
local reply = {}
for j = 1, #page, 2 do
  local p = tonumber(page[j + 1])
  local body = near and near[p - lo + 1] or (not near and redis.call('LINDEX', KEYS[2], p - oldest))
  if body then
    reply[#reply + 1] = page[j]
    reply[#reply + 1] = page[j + 1]
    reply[#reply + 1] = body
  end
end
return reply
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
  /** Where the entry sorts: a page's last one is where the next page starts. */
  readonly key: FeedKey;
  /** The activity, UTF-8 JSON as stored (not decoded: a page is sent on as bytes). */
  json: Buffer;
}

type StreamReply = [string | null, number, number, number, number, string[]];
type ReaderCommander = (ChainableCommander | RedisClient) & {
  readStream(stats: string, log: string, after: number, limit: number, ...fields: string[]): unknown;
  readFeedBuffer(stats: string, log: string, feed: string, positionField: string, beforeTime: string, beforeMember: string, count: number): unknown;
};


/** Reads the projections the activity-service writes; used by its read API and by the stream gateway. */
export class ProjectionReader {
  private readonly batcher: TickBatcher;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    redis.defineCommand('readStream', { numberOfKeys: 2, lua: READ_STREAM });
    redis.defineCommand('readFeed', { numberOfKeys: 3, lua: READ_FEED });
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

  /** Up to `count` feed entries older than `before`, newest first by event time. */
  async feedOlder(userId: number, before: FeedKey | undefined, count: number): Promise<FeedEntry[]> {
    const p = this.prefix;
    const reply = await this.batcher.run<(number | Buffer)[]>((c) =>
      (c as ReaderCommander).readFeedBuffer(ProjectionKeys.stats(p, userId), ProjectionKeys.log(p, userId), ProjectionKeys.feed(p, userId), StatsField.position, before === undefined ? '' : String(before.timeMs), before?.member ?? '', count),
    );
    const entries: FeedEntry[] = [];
    for (let i = 0; i < reply.length; i += 3) entries.push({ key: { timeMs: Number(reply[i]), member: reply[i + 1]!.toString() }, json: reply[i + 2] as Buffer });
    return entries;
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
