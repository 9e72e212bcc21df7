import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '@suite/redis';
import {
  FEED_BLOCK_SIZE,
  INBOX_COUNTS_LUA,
  PART_KEY_LUA,
  InboxField,
  ProjectionKeys,
  StatsField,
  feedMemberText,
  logEntryJson,
  parseInboxLogEntry,
  splitLogEntry,
  type FeedKey,
  type InboxCounts,
  type InboxLogEntry,
} from '@suite/contracts';
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
 * One atomic read of a feed page through the blocks (where the feed is not the log reversed): up
 * to `count` entries older than a feed key, newest first by event time, then position. The feed
 * blocks (`ProjectionKeys.feedBlock`) index the log's positions by event time; each block is
 * sorted, so a page merges the blocks' heads. A block's newest entry is read first and blocks are
 * taken newest first until the next one cannot beat the page's last entry: with event times that
 * mostly follow arrival, a page reads one or two blocks. The activities come from the log, one
 * LRANGE when the page's positions lie close together. KEYS: stats, log, feed (the blocks' base
 * name). ARGV: position field, before time ('' for the newest), before member (`feedMemberText`),
 * count, disorder mark field. Returns the newest position and the disorder mark, then time, member,
 * log entry per entry.
 */
const READ_FEED = `${PART_KEY_LUA}
local head = redis.call('HMGET', KEYS[1], ARGV[1], ARGV[5])
local seq, disordered = tonumber(head[1] or '0'), tonumber(head[2] or '0')
local len = redis.call('LLEN', KEYS[2])
if len == 0 then return { seq, disordered } end
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
  local key = partKey(KEYS[3], b)
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
if #page == 0 then return { seq, disordered } end
local lo, hi = math.huge, 0
for j = 2, #page, 2 do
  local p = tonumber(string.sub(page[j], 2))
  if p < lo then lo = p end
  if p > hi then hi = p end
end
local near = hi - lo < 4 * n and redis.call('LRANGE', KEYS[2], lo - oldest, hi - oldest)
local reply = { seq, disordered }
for j = 1, #page, 2 do
  local p = tonumber(string.sub(page[j + 1], 2))
  local body = near and near[p - lo + 1] or (not near and redis.call('LINDEX', KEYS[2], p - oldest))
  if body then
    reply[#reply + 1] = page[j]
    reply[#reply + 1] = page[j + 1]
    reply[#reply + 1] = body
  end
end
return reply
`;

/**
 * One atomic read of a user's inbox log: its head (epoch, newest position, watermarks, counts), the
 * oldest retained entry, and up to `limit` entries after `after`. KEYS: inbox, log, items, unread,
 * archived. ARGV: after, limit, the inbox fields for position, epoch, seen and read watermarks.
 */
const READ_INBOX_LOG = `${INBOX_COUNTS_LUA}
local h = redis.call('HMGET', KEYS[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
local position, seenUpTo = tonumber(h[1] or '0'), tonumber(h[3] or '0')
local oldest = position + 1
local entries = {}
local len = redis.call('LLEN', KEYS[2])
if len > 0 then
  local first = redis.call('LINDEX', KEYS[2], 0)
  oldest = tonumber(string.match(first, '^(%d+)|'))
end
-- Entries are contiguous positions only where the log holds every one: find the index by position.
local from = math.max(tonumber(ARGV[1]) + 1, oldest)
if from <= position and len > 0 then entries = redis.call('LRANGE', KEYS[2], len - (position - from + 1), len - (position - from + 1) + tonumber(ARGV[2]) - 1) end
local unseen, unread, total = inboxCounts(KEYS[3], KEYS[4], KEYS[5], seenUpTo)
return { h[2] or false, position, seenUpTo, tonumber(h[4] or '0'), oldest, unseen, unread, total, entries }
`;

/** Where a user's inbox stands. */
export interface InboxHead {
  /** The epoch of the positions; null while the inbox has had nothing. */
  epoch: string | null;
  position: number;
  seenUpTo: number;
  readUpTo: number;
  /** The oldest position the log still holds (position + 1 when it holds none). */
  oldest: number;
  counts: InboxCounts;
}

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

/** A feed entry read from the log's tail: its event time is read from its JSON when its key is asked for (a page needs only its last one's). */
class TailEntry implements FeedEntry {
  constructor(
    readonly json: Buffer,
    private readonly position: number,
    private readonly seq: number,
  ) {}

  get key(): FeedKey {
    return {
      timeMs: Date.parse((JSON.parse(this.json.toString()) as { time: string }).time),
      position: this.position,
      seq: this.seq,
      inOrder: true,
    };
  }
}

type StreamReply = [string | null, number, number, number, number, string[]];
type ReaderCommander = (ChainableCommander | RedisClient) & {
  readStream(
    stats: string,
    log: string,
    after: number,
    limit: number,
    ...fields: string[]
  ): unknown;
  readFeedBuffer(
    stats: string,
    log: string,
    feed: string,
    positionField: string,
    beforeTime: string,
    beforeMember: string,
    count: number,
    disorderField: string,
  ): unknown;
  readInboxLog(...args: (string | number)[]): unknown;
};

type InboxReply = [string | null, number, number, number, number, number, number, number, string[]];

/** Reads the projections the activity-service writes; used by its read API and by the stream gateway. */
/** How a feed page was read: from the log's tail (one LRANGE), or through the blocks (the script). */
export type FeedPath = 'tail' | 'blocks';

export class ProjectionReader {
  private readonly batcher: TickBatcher;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    /** Told how each feed page was read (the activity-service counts them in a metric). */
    private readonly onFeedPage: (path: FeedPath) => void = () => {},
  ) {
    redis.defineCommand('readStream', { numberOfKeys: 2, lua: READ_STREAM });
    redis.defineCommand('readFeed', { numberOfKeys: 3, lua: READ_FEED });
    redis.defineCommand('readInboxLog', { numberOfKeys: 5, lua: READ_INBOX_LOG });
    this.batcher = new TickBatcher(redis);
  }

  /** Up to `limit` stream entries after position `after`, oldest first, with the head read in the same atomic step. */
  async streamAfter(
    userId: number,
    after: number,
    limit: number,
  ): Promise<{ head: StreamHead; entries: StreamEntry[] }> {
    const stats = ProjectionKeys.stats(this.prefix, userId);
    const log = ProjectionKeys.log(this.prefix, userId);
    const [epoch, position, deleted, oldest, from, entries] = await this.batcher.run<StreamReply>(
      (p) =>
        (p as ReaderCommander).readStream(
          stats,
          log,
          after,
          limit,
          StatsField.epoch,
          StatsField.position,
          StatsField.deleted,
        ),
    );
    return {
      head: { epoch, position, oldest, deleted: deleted === 1 },
      entries: entries.map((entry, i) => ({ position: from + i, json: logEntryJson(entry) })),
    };
  }

  /**
   * Up to `limit` inbox log entries after position `after`, oldest first, with the head read in the
   * same atomic step. Every delivery applied and every mark has a position and an entry, so the
   * retained entries are contiguous; a malformed one is left out (its position is a gap).
   */
  async inboxAfter(
    userId: number,
    after: number,
    limit: number,
  ): Promise<{ head: InboxHead; entries: InboxLogEntry[] }> {
    const p = this.prefix;
    const [epoch, position, seenUpTo, readUpTo, oldest, unseen, unread, total, entries] =
      await this.batcher.run<InboxReply>((c) =>
        (c as ReaderCommander).readInboxLog(
          ProjectionKeys.inbox(p, userId),
          ProjectionKeys.inboxLog(p, userId),
          ProjectionKeys.inboxItems(p, userId),
          ProjectionKeys.inboxUnread(p, userId),
          ProjectionKeys.inboxArchived(p, userId),
          after,
          limit,
          InboxField.position,
          InboxField.epoch,
          InboxField.seenUpTo,
          InboxField.readUpTo,
        ),
      );
    return {
      head: { epoch, position, seenUpTo, readUpTo, oldest, counts: { unseen, unread, total } },
      entries: entries.flatMap((e) => parseInboxLogEntry(e) ?? []),
    };
  }

  /** Up to `count` feed entries older than `before`, newest first by event time, then position. */
  async feedOlder(
    userId: number,
    before: FeedKey | undefined,
    count: number,
  ): Promise<FeedEntry[]> {
    const tail = await this.feedTail(userId, before, count);
    this.onFeedPage(tail ? 'tail' : 'blocks');
    if (tail) return tail;
    const p = this.prefix;
    const reply = await this.batcher.run<(number | Buffer)[]>((c) =>
      (c as ReaderCommander).readFeedBuffer(
        ProjectionKeys.stats(p, userId),
        ProjectionKeys.log(p, userId),
        ProjectionKeys.feed(p, userId),
        StatsField.position,
        before === undefined ? '' : String(before.timeMs),
        before === undefined ? '' : feedMemberText(before.position),
        count,
        StatsField.disorderedUpTo,
      ),
    );
    const [seq, disordered] = [Number(reply[0]), Number(reply[1])];
    const entries: FeedEntry[] = [];
    for (let i = 2; i < reply.length; i += 3) {
      const { position, json } = splitLogEntry(reply[i + 2] as Buffer);
      entries.push({
        key: { timeMs: Number(reply[i]), position, seq, inOrder: position > disordered },
        json,
      });
    }
    return entries;
  }

  /**
   * A page read with one `LRANGE` from the log's tail, when the log there is in order (every entry
   * says whether it is: `logEntry`) and the feed is therefore the log reversed; else undefined. The
   * first page is the last `count` entries. A later page is the entries below its cursor, found from
   * the cursor's newest-position hint, and only when the cursor says everything above it was in
   * order. It reads the cursor's own entry too: if entries were appended since, the indexes from the
   * tail moved and that entry is not the one read, so the page goes through the blocks (a late
   * arrival may belong in it). A reply shorter than asked reached the log's oldest entry. Measured,
   * this costs Redis less than layout 4's `ZREVRANGEBYLEX` page and a third of the script
   * (bench/activity-reads.bench.ts).
   */
  private async feedTail(
    userId: number,
    before: FeedKey | undefined,
    count: number,
  ): Promise<FeedEntry[] | undefined> {
    const hint = before?.seq;
    if (before !== undefined && (hint === undefined || !before.inOrder || before.position > hint))
      return undefined;
    const log = ProjectionKeys.log(this.prefix, userId);
    // From the log's end: the newest position (`hint`) is at index -1, the cursor's at its position - hint - 1.
    const at = before === undefined ? 0 : before.position - hint! - 1;
    const raw = await this.batcher.run<Buffer[]>((c) =>
      before === undefined ? c.lrangeBuffer(log, -count, -1) : c.lrangeBuffer(log, at - count, at),
    );
    if (raw.length === 0) return before === undefined ? [] : undefined;
    const entries = raw.map(splitLogEntry);
    if (before !== undefined && entries.pop()!.position !== before.position) return undefined;
    if (!entries.every((e) => e.inOrder)) return undefined;
    const seq = hint ?? entries.at(-1)!.position;
    return entries.reverse().map((e) => new TailEntry(e.json, e.position, seq));
  }

  /** The exact number of distinct activities applied for the user. */
  async count(userId: number): Promise<number> {
    const key = ProjectionKeys.stats(this.prefix, userId);
    return Number(
      (await this.batcher.run<string | null>((p) => p.hget(key, StatsField.count))) ?? 0,
    );
  }

  /** Per workspace: last active time (ms) and count, with the user's access replica (workspace -> JSON). */
  async recency(userId: number): Promise<{
    last: Record<string, string>;
    counts: Record<string, string>;
    access: Record<string, string>;
  }> {
    const [stats, access] = await Promise.all([
      this.batcher.run<Record<string, string>>((p) =>
        p.hgetall(ProjectionKeys.stats(this.prefix, userId)),
      ),
      this.batcher.run<Record<string, string>>((p) =>
        p.hgetall(ProjectionKeys.access(this.prefix, userId)),
      ),
    ]);
    const last: Record<string, string> = {};
    const counts: Record<string, string> = {};
    for (const [field, value] of Object.entries(stats)) {
      if (field.startsWith(StatsField.lastActive))
        last[field.slice(StatsField.lastActive.length)] = value;
      else if (field.startsWith(StatsField.workspaceCount))
        counts[field.slice(StatsField.workspaceCount.length)] = value;
    }
    return { last, counts, access };
  }
}
