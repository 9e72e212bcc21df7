/**
 * The Redis layout of the activity projections (layout 5), written by the activity-service and
 * read by it and by the stream-gateway. Every name, field and separator the two services (and the
 * Lua scripts, which receive them as arguments) agree on is defined here, once.
 *
 * Every key of one user carries the hash tag `{u:<id>}`, every workspace key `{ws:<id>}`, and the
 * keys that describe the projections as a whole (layout, offsets, rebuild marker) `{projections}`:
 * every write step touches one Redis Cluster slot (docs/activity-service.md, "Redis Cluster").
 */

/** Bump when the layout changes: a service finding another layout refuses to touch it until rebuilt. */
export const PROJECTION_LAYOUT_VERSION = '5';

/** Redis Cluster's number of hash slots. */
export const SLOTS = 16384;

/** CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0) of UTF-8 bytes, as Redis Cluster hashes keys. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

const utf8 = new TextEncoder();

/**
 * The Redis Cluster slot of a key (the cluster specification's `HASH_SLOT`): CRC16 of the key, or of
 * the content of its first `{…}` when that is not empty, modulo 16384. `{u:7}:feed` and `u:7` share
 * one. Checked against the server's own `CLUSTER KEYSLOT` in packages/testkit/test/redis-cluster.int.test.ts.
 */
export function slotOf(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  return crc16(utf8.encode(hashed)) % SLOTS;
}

let slotTags: string[] | undefined;

/**
 * For each slot, a short hash tag that lands in it (found once by counting up in base 36; about
 * 15 ms): the per-slot marker of a user's slot then lives in that same slot.
 */
function slotTag(slot: number): string {
  if (!slotTags) {
    const tags = new Array<string>(SLOTS);
    let left = SLOTS;
    for (let i = 0; left > 0; i++) {
      const tag = `s${i.toString(36)}`;
      const at = slotOf(tag);
      if (tags[at] === undefined) {
        tags[at] = tag;
        left--;
      }
    }
    slotTags = tags;
  }
  return slotTags[slot]!;
}

/** The slot of every key of one user. */
export function userSlot(userId: number | string): number {
  return slotOf(ProjectionKeys.user('', userId));
}

/** The key of part `n` of a key split in parts (a feed block, a dedup bucket): `<base>:<n>`. `PART_KEY_LUA` is its twin in the scripts. */
export function partKey(base: string, n: number): string {
  return `${base}:${n}`;
}
export const PART_KEY_LUA = `local function partKey(base, n)
  return base .. ':' .. n
end
`;

/** Key names, from the service's `REDIS_KEY_PREFIX`. */
export const ProjectionKeys = {
  /** What every key of one user starts with. */
  user: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:`,
  /**
   * Sorted set, one per block of `FEED_BLOCK_SIZE` stream positions (`feedBlock`): position -> event
   * time (ms). Together the blocks index the log by event time; the activity itself is stored once,
   * in the log. The Lua scripts append `:<block>` to this name.
   */
  feed: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:feed`,
  /** List: each applied activity in application order (the stream log), as a `logEntry`. Capped. */
  log: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:log`,
  /**
   * Sorted set, one per bucket of `SEEN_BUCKETS` (`seenBucket`): 8-byte dedup id (`dedupId` in the
   * activity-service) -> Kafka record timestamp in whole seconds (rounded up), trimmed to the dedup window. The Lua scripts append
   * `:<bucket>` to this name.
   */
  seen: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:seen`,
  /** The feed block holding stream positions `block * FEED_BLOCK_SIZE` to the next block's first, exclusive. */
  feedBlock: (prefix: string, userId: number | string, block: number) =>
    partKey(ProjectionKeys.feed(prefix, userId), block),
  /** One of a user's `SEEN_BUCKETS` dedup buckets. */
  seenBucket: (prefix: string, userId: number | string, bucket: number) =>
    partKey(ProjectionKeys.seen(prefix, userId), bucket),
  /** Hash: see `StatsField`. */
  stats: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:stats`,
  /** Hash: workspace id -> `{"name","role"}` (the access replica). */
  access: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:access`,
  /** String: the version of the access replica last applied. */
  accessVersion: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:accessv`,
  /** Set: users whose access replica names the workspace (for renames and deletions). */
  workspaceMembers: (prefix: string, workspaceId: number | string) =>
    `${prefix}{ws:${workspaceId}}:members`,
  /** String: the version of the newest `workspace.renamed` applied (a replayed older rename is ignored). */
  workspaceVersion: (prefix: string, workspaceId: number | string) =>
    `${prefix}{ws:${workspaceId}}:v`,
  /** String `<version>:<generation>`: see `parseLayout`. */
  layout: (prefix: string) => `${prefix}{projections}:layout`,
  /** Where layouts 1 to 3 kept the layout: found there, the prefix holds a layout this version does not write. */
  legacyLayout: (prefix: string) => `${prefix}layout`,
  /**
   * String: the partition's checkpoint, the next offset every user's step has been applied up to
   * (written after the steps; each user's own `appliedOffset` is what makes a step exactly once).
   */
  offset: (prefix: string, topic: string, partition: number) =>
    `${prefix}{projections}:offset:${topic}:${partition}`,
  /** Hash: offset key -> the offset it must reach before the projections are whole again (present while rebuilding). */
  rebuild: (prefix: string) => `${prefix}{projections}:rebuild`,
  /** String: held (with an expiry) by the one consumer that drops and re-claims lost projections. */
  healLock: (prefix: string) => `${prefix}{projections}:heal-lock`,
  /**
   * String, one per cluster slot, the layout value (`formatLayout`): written for every slot when the
   * projections are claimed, read by every user step in its own slot. Missing, the slot's primary
   * lost its data (restarted empty) and the step refuses to write.
   */
  slotMarker: (prefix: string, slot: number) => `${prefix}{${slotTag(slot)}}:slot`,
  /**
   * Hash, one per slot that has had a step (both on one Redis and on a cluster): `<topic>:<partition>`
   * -> the offset after the last record of that partition applied in this slot. A consumer that finds it lower than
   * what it wrote there itself knows the slot went back in time (a restored snapshot, a failover
   * to a replica that lagged) and rewinds the partition instead of writing on top.
   */
  slotFence: (prefix: string, slot: number) => `${prefix}{${slotTag(slot)}}:fence`,
  /** Hash: the user's inbox as a whole (`InboxField`). */
  inbox: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:inbox`,
  /** Sorted set: every notification the inbox keeps (delivery id -> inbox position). */
  inboxItems: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:inbox:items`,
  /** Sorted set: the kept notifications neither read nor archived (delivery id -> position). */
  inboxUnread: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:inbox:unread`,
  /** Sorted set: the kept notifications read (delivery id -> position). */
  inboxRead: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:inbox:read`,
  /** Sorted set: the kept notifications archived (delivery id -> position). */
  inboxArchived: (prefix: string, userId: number | string) =>
    `${prefix}{u:${userId}}:inbox:archived`,
  /** List: the inbox log, each delivery applied and each mark as an `InboxLogEntry`, oldest first; capped at the retention's count. */
  inboxLog: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:inbox:log`,
  /** Hash: delivery id -> `inboxEntry` (workspace, delivery time, activity JSON). */
  inboxData: (prefix: string, userId: number | string) => `${prefix}{u:${userId}}:inbox:data`,
  /** Pub/sub channel of a user's live batches (same hash tag: sharded pub/sub routes it to the user's slot). */
  liveChannel: (prefix: string, userId: number | string) => `${prefix}live:{u:${userId}}`,
};

/**
 * Every key of a user's inbox, in this order: head hash, items, unread, read, archived, data, log.
 * One hash tag, so one slot on a Redis Cluster.
 */
export function inboxKeys(prefix: string, userId: number | string): string[] {
  return [
    ProjectionKeys.inbox,
    ProjectionKeys.inboxItems,
    ProjectionKeys.inboxUnread,
    ProjectionKeys.inboxRead,
    ProjectionKeys.inboxArchived,
    ProjectionKeys.inboxData,
    ProjectionKeys.inboxLog,
  ].map((key) => key(prefix, userId));
}

/** The user id of a live channel name, or undefined when it is not one. */
export function liveChannelUser(channel: string): number | undefined {
  const match = /\{u:([1-9][0-9]{0,15})\}$/.exec(channel);
  return match ? Number(match[1]) : undefined;
}

/** Fields of a user's `stats` hash. */
export const StatsField = {
  /** Exact number of distinct activities applied. */
  count: 'n',
  /** Position of the newest entry of the stream log (positions start at 1, one per applied activity). */
  position: 'seq',
  /** The epoch the positions belong to (the layout generation they were assigned in). */
  epoch: 'e',
  /** The newest Kafka record timestamp (ms) of the user's applied activities: the dedup window's clock. */
  seenUntil: 't',
  /** The tombstone: present once the user is deleted; later events are dropped. */
  deleted: 'deleted',
  /** Prefix of `l:<workspaceId>`: last activity time (ms, event time) in the workspace. */
  lastActive: 'l:',
  /** Prefix of `c:<workspaceId>`: number of activities in the workspace. */
  workspaceCount: 'c:',
  /** How many workspaces have `l:`/`c:` fields (at most the configured cap; the oldest are evicted past it). */
  workspaces: 'w',
  /** Prefix of `o:<partition>`: the next offset of that activity partition applied to this user (the step's exactly-once record). */
  appliedOffset: 'o:',
  /** The newest event time (ms) among the user's applied activities. */
  newestTime: 'h',
  /**
   * The last position applied with an event time before `newestTime` as it was then (0: none).
   * Every later position is at least as new as everything applied before it, so past this position
   * the feed's order is the log's, reversed: a page there is read from the log's tail.
   */
  disorderedUpTo: 'd',
} as const;

/** Fields of a user's `inbox` hash. */
export const InboxField = {
  /** The newest inbox position (each delivery applied and each mark takes the next one). */
  position: 'p',
  /** The epoch the positions belong to (the layout generation of the inbox's first write). */
  epoch: 'e',
  /** The seen watermark: a position. */
  seenUpTo: 's',
  /** The read watermark of the last "read all" without a workspace: a position. */
  readUpTo: 'r',
  /** The newest delivery record time (ms, broker time): the age retention's clock. */
  clock: 't',
  /**
   * The delivery record time (ms) of the kept notification at the lowest position: what the age
   * retention checks first. Rewritten by every step that drops notifications; absent when unknown.
   */
  oldestMs: 'a',
  /** Prefix of `o:<partition>`: the next offset of that inbox partition applied to this user. */
  appliedOffset: 'o:',
} as const;

/**
 * A kept notification as the inbox's data hash holds it: `<workspace>|<delivery ms>|<activity JSON>`,
 * written and read in Lua by `INBOX_ENTRY_LUA`; `splitInboxEntry` reads it in TypeScript.
 */
export const INBOX_ENTRY_LUA = `local function inboxEntry(ws, ms, json)
  return ws .. '|' .. ms .. '|' .. json
end
local function inboxEntryIn(entry, ws)
  return ws == '' or string.sub(entry, 1, #ws + 1) == ws .. '|'
end
local function inboxEntryMs(entry)
  return tonumber(string.match(entry, '^%d+|(%d+)|'))
end`;

/**
 * The inbox counts from its sets, in Lua (every script that answers or logs them):
 * `inboxCounts(items, unread, archived, seenUpTo)` -> unseen (unread after the seen watermark),
 * unread (neither read nor archived), total (not archived).
 */
export const INBOX_COUNTS_LUA = `local function inboxCounts(items, unread, archived, seenUpTo)
  return redis.call('ZCOUNT', unread, '(' .. seenUpTo, '+inf'), redis.call('ZCARD', unread), redis.call('ZCARD', items) - redis.call('ZCARD', archived)
end`;

/** Splits an `inboxEntry`. */
export function splitInboxEntry(entry: string): {
  workspaceId: number;
  deliveredMs: number;
  activityJson: string;
} {
  const a = entry.indexOf('|');
  const b = entry.indexOf('|', a + 1);
  if (a <= 0 || b <= a) throw new Error('not an inbox entry');
  return {
    workspaceId: Number(entry.slice(0, a)),
    deliveredMs: Number(entry.slice(a + 1, b)),
    activityJson: entry.slice(b + 1),
  };
}

/** The value stored under `ProjectionKeys.layout`. */
export function formatLayout(generation: string): string {
  return `${PROJECTION_LAYOUT_VERSION}:${generation}`;
}

/** Splits a layout value; a value without a generation is from layout 2 or earlier. */
export function parseLayout(value: string): { version: string; generation: string | undefined } {
  const at = value.indexOf(':');
  return at < 0
    ? { version: value, generation: undefined }
    : { version: value.slice(0, at), generation: value.slice(at + 1) };
}

/** A generation names one history of the projections: a new one is drawn each time they are (re)built. */
export const GENERATION = /^[0-9a-z]{1,16}$/;

/** `<epoch>.<position>`: the stream cursor, and the header of a live batch (its first position). */
const STREAM_POSITION = /^([0-9a-z]{1,16})\.([1-9][0-9]{0,14})$/;

/** Parses `<epoch>.<position>`; undefined when it is not one. */
export function parseStreamPosition(text: string): StreamPosition | undefined {
  const match = STREAM_POSITION.exec(text);
  return match ? { epoch: match[1]!, position: Number(match[2]) } : undefined;
}

/** A fresh generation: base-36 time plus randomness (unique across rebuilds, short in cursors). */
export function newGeneration(now = Date.now()): string {
  return `${now.toString(36)}${Math.floor(Math.random() * 36 ** 5)
    .toString(36)
    .padStart(5, '0')}`;
}

// ---- the stream cursor ----------------------------------------------------------------------

/** A position in a user's stream: which epoch, and the position within it. */
export interface StreamPosition {
  epoch: string;
  position: number;
}

/** The cursor clients see for a stream position: `<epoch>.<position>`. */
export function encodeStreamCursor(epoch: string, position: number): string {
  return `${epoch}.${position}`;
}

/**
 * The cursor of a stream that has no activity yet (no epoch, position 0). A client that opened
 * then resumes from it and gets everything that arrived since, in whatever epoch it arrived.
 */
export const EMPTY_STREAM_CURSOR = '.0';

/**
 * Decodes a stream cursor. `empty` is `EMPTY_STREAM_CURSOR`. `stale` is a cursor an earlier layout
 * issued (a base64url feed member): well-formed, but from a history that no longer exists, so the
 * client gets a reset. Undefined for anything that does not match `STREAM_CURSOR`.
 */
export function decodeStreamCursor(cursor: string): StreamPosition | 'empty' | 'stale' | undefined {
  if (cursor === EMPTY_STREAM_CURSOR) return 'empty';
  return (
    parseStreamPosition(cursor) ?? (decodeFeedCursor(cursor) === undefined ? undefined : 'stale')
  );
}

// ---- the feed (read API order: event time) --------------------------------------------------

/**
 * Stream positions per feed block. Redis keeps a sorted set of up to 128 entries (its default
 * `zset-max-listpack-entries`) as one compact listpack, about 14 bytes per entry here, where a larger
 * one costs about 100: the blocks keep every feed index compact on any Redis left at its defaults.
 */
export const FEED_BLOCK_SIZE = 128;

/**
 * Dedup buckets per user: the 8-byte ids of one user spread over this many sorted sets, so up to
 * 16 x 128 ids in the window stay compact listpacks (about 21 bytes per id instead of 110).
 */
export const SEEN_BUCKETS = 16;
/**
 * A user's dedup buckets are trimmed (ids older than the window, and past the newest
 * `DEDUP_MAX_IDS_PER_USER / SEEN_BUCKETS` of each) when the user's position reaches a multiple of
 * this, at that record: a bucket holds at most this many ids more than its share between trims,
 * and an id older than the window leaves within this many of the user's activities.
 */
export const SEEN_TRIM_EVERY = 64;

/**
 * A stream log entry: the position, `-` when the activity is late (its time before the newest
 * applied before it: past such an entry the feed is no longer the log reversed), then the activity
 * JSON (an object, so it starts with `{`). Each entry says where it is, so one `LRANGE` is a page
 * with its positions.
 */
export function logEntry(position: number, inOrder: boolean, json: string): string {
  return `${position}${inOrder ? '' : '-'}${json}`;
}

/** `logEntry` in Lua, for the step that appends to the log. */
export const LOG_ENTRY_LUA = `local function logEntry(position, inOrder, json)
  return string.format('%d', position) .. (inOrder and '' or '-') .. json
end`;

const MINUS = 0x2d;
const BRACE = 0x7b;

/** Splits a `logEntry` (as bytes: a page is sent on without decoding its JSON). */
export function splitLogEntry(entry: Buffer): { position: number; inOrder: boolean; json: Buffer } {
  let at = 0;
  let position = 0;
  while (at < entry.length && entry[at]! >= 0x30 && entry[at]! <= 0x39)
    position = position * 10 + entry[at++]! - 0x30;
  const inOrder = entry[at] !== MINUS;
  if (!inOrder) at++;
  if (position === 0 || entry[at] !== BRACE) throw new Error('not a stream log entry');
  return { position, inOrder, json: entry.subarray(at) };
}

/** The activity JSON of a `logEntry` read as text. */
export function logEntryJson(entry: string): string {
  const at = entry.indexOf('{');
  if (at <= 0) throw new Error('not a stream log entry');
  return entry.slice(at);
}

/** Where a feed entry sorts: its event time (ms), then its stream position (ties of time: the later applied first). */
export interface FeedKey {
  timeMs: number;
  position: number;
  /** The user's newest position when the page was read: a hint that lets the next page be read from the log's tail directly. */
  seq?: number;
  /** Every position from this one to `seq` is in order (`logEntry`): below it, the feed is the log reversed as far as the log stays in order. */
  inOrder?: boolean;
}

/**
 * A position as a feed block member: its digit count as one character ('0' + n), then the digits,
 * so members compare as text in the order of the numbers (Redis orders equal scores by member text).
 */
export function feedMemberText(position: number): string {
  const digits = String(position);
  return `${String.fromCharCode(48 + digits.length)}${digits}`;
}

/** `feedMemberText` in Lua, for the scripts that write and read the blocks (positions below 2^53). */
export const FEED_MEMBER_LUA = `local function feedMember(position)
  local digits = string.format('%d', position)
  return string.char(48 + #digits) .. digits
end`;

/** The text of a feed cursor: `<event ms>:<position>`, then `/<seq hint>` when there is one, and `+` when in order from there up. */
export function feedKeyText(key: FeedKey): string {
  return `${key.timeMs}:${key.position}${key.seq === undefined ? '' : `/${key.seq}`}${key.inOrder ? '+' : ''}`;
}

/**
 * The feed key a cursor names. A layout 4 cursor (`<15-digit ms>:<event id>`) starts the page after
 * every entry of its time. Undefined for text of no feed key: such a cursor starts nowhere (an empty page).
 */
export function parseFeedKey(text: string): FeedKey | undefined {
  const key = /^([0-9]{1,16}):([1-9][0-9]{0,15})(?:\/([0-9]{1,16})(\+?))?$/.exec(text);
  if (key)
    return {
      timeMs: Number(key[1]),
      position: Number(key[2]),
      ...(key[3] === undefined
        ? {}
        : { seq: Number(key[3]), ...(key[4] ? { inOrder: true } : {}) }),
    };
  const legacy = /^([0-9]{1,16}):./s.exec(text);
  return legacy ? { timeMs: Number(legacy[1]), position: Number.MAX_SAFE_INTEGER } : undefined;
}

/** The read API's opaque page cursor for a feed key's text (`feedKeyText`). */
export function encodeFeedCursor(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/**
 * What a feed page cursor may be: base64url of at least one byte. The API description states this
 * pattern, and every text it matches is accepted: a cursor is a position in the caller's own feed,
 * so one the API did not issue only starts the page somewhere else in it.
 */
export const FEED_CURSOR = /^[A-Za-z0-9_-]{2,400}$/;

/** Decodes a feed page cursor to the position it names; undefined when it is not base64url. */
export function decodeFeedCursor(cursor: string): string | undefined {
  return FEED_CURSOR.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : undefined;
}

const ONE_POSITION = `(?:${STREAM_POSITION.source.slice(1, -1)}|\\.0)`;

/**
 * What a stream cursor may be: `<epoch>.<position>`, the empty stream's `.0`, a feed cursor of
 * layout 2 (answered with a reset), or, for a stream that carries the inbox, the activity position
 * and the inbox position joined by `~` (`channelsCursor`).
 */
export const STREAM_CURSOR = new RegExp(
  `^(?:${ONE_POSITION}|${FEED_CURSOR.source.slice(1, -1)}|${ONE_POSITION}~${ONE_POSITION})$`,
);

/** One resume token for the activity and inbox channels: `<activity cursor>~<inbox cursor>`. */
export function channelsCursor(activity: string, inbox: string): string {
  return `${activity}~${inbox}`;
}

/**
 * Splits a stream cursor into its channels' parts: a plain cursor is the activity channel's alone
 * (the inbox then starts from now). Undefined parts were not given.
 */
export function splitChannelsCursor(cursor: string): { activity: string; inbox?: string } {
  const tilde = cursor.indexOf('~');
  return tilde < 0
    ? { activity: cursor }
    : { activity: cursor.slice(0, tilde), inbox: cursor.slice(tilde + 1) };
}
