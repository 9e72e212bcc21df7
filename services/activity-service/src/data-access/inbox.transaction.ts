import {
  INBOX_COUNTS_LUA,
  INBOX_ENTRY_LUA,
  INBOX_LIVE_MARK,
  INBOX_LOG_LUA,
  InboxField,
  inboxKeys,
  LIVE_ENTRY_SEPARATOR,
  ProjectionKeys,
  StatsField,
  type MarkAction,
} from '@suite/contracts';
import type { RedisClient } from '@suite/redis';
import type { ApplyOutcome, LiveMode, RecordRange } from './activity.transaction.js';
import {
  LIVE_LISTENED_LUA,
  STEP_MARKED,
  luaString as lua,
  stepMarker,
} from './projection.state.js';
import { UserSteps, type StepReply } from './user-steps.js';

/** One valid `inbox.events` record, ready to apply to its recipient's inbox. */
export type InboxWrite =
  | {
      kind: 'delivered';
      offset: bigint;
      userId: number;
      recordMs: number;
      deliveryId: string;
      workspaceId: number;
      activityJson: string;
    }
  | {
      kind: 'marked';
      offset: bigint;
      userId: number;
      recordMs: number;
      action: MarkAction;
      ids?: string[];
      upTo?: number;
      workspaceId?: number;
    };

export interface InboxOptions {
  /** Notifications an inbox keeps at most (the oldest by position leave first). */
  maxItems: number;
  /** Notifications older than this (delivery record time, against the newest delivered) leave. */
  maxAgeMs: number;
  /** How inbox entries are published on the user's live channel (as activities are). */
  live: LiveMode;
}

/** Arguments per record, after the fixed ones. */
const PER_RECORD = 7;

/**
 * Lua that drops notifications from every set of an inbox and its data hash:
 * `dropItems(ids, items, unread, read, archived, data)`, in pieces (Lua's unpack has a limit).
 */
const DROP_ITEMS = `
local function dropItems(ids, items, unread, readSet, archived, data)
  for from = 1, #ids, 500 do
    local part = { unpack(ids, from, math.min(from + 499, #ids)) }
    redis.call('ZREM', items, unpack(part))
    redis.call('ZREM', unread, unpack(part))
    redis.call('ZREM', readSet, unpack(part))
    redis.call('ZREM', archived, unpack(part))
    redis.call('HDEL', data, unpack(part))
  end
end
`;

/**
 * One recipient's step, atomic in the recipient's slot. KEYS: slot marker, inbox, items, unread,
 * read, archived, data, slot fence, stats, inbox log. ARGV: layout value, applied-offset field
 * (`o:<p>`), next offset, retention items, retention ms, fence field, the fence this consumer
 * expects at least, live mode, live channel, then per record: offset, record ms, `d` or `m`, and
 * - for a delivery: id, workspace, activity JSON, '';
 * - for a mark: action, `upTo` ('' for none), workspace ('' for all), ids comma-joined ('' for all).
 *
 * Exactly once per record as the activity step is (the recipient's applied offset, the slot's
 * fence). A delivery whose id the inbox holds already is a duplicate and changes nothing. Each
 * delivery applied and each mark takes the next position. A mark covers at most what was applied
 * before it (`upTo` is clamped), so it can never cover a delivery that arrived after it was made.
 * States are set memberships (read, archived; unread is "neither"), so counts are set sizes and no
 * redelivery can skew them. Retention trims the oldest by count and by age after each delivery, on
 * the inbox's own clock (the newest delivery's record time), so a rebuild trims alike; the oldest
 * kept notification's time is kept in the inbox hash, so a delivery that drops nothing reads one
 * count (ZCARD) for retention. Each entry
 * applied is appended to the inbox log (`InboxLogEntry`, capped at the retention's count) and
 * published on the user's live channel in one message per step.
 */
export const APPLY_INBOX = `${STEP_MARKED}${LIVE_LISTENED_LUA}${DROP_ITEMS}${INBOX_ENTRY_LUA}
${INBOX_COUNTS_LUA}
${INBOX_LOG_LUA}
local generation = string.sub(ARGV[1], string.find(ARGV[1], ':', 1, true) + 1)
local inbox, items, unread, readSet, archived, data = KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local fence = tonumber(redis.call('HGET', KEYS[8], ARGV[6]) or '0')
if fence < tonumber(ARGV[7]) then return { 'behind', fence } end
local upTo = tonumber(ARGV[3])
if fence < upTo then redis.call('HSET', KEYS[8], ARGV[6], upTo) end
local maxItems, maxAge = tonumber(ARGV[4]), tonumber(ARGV[5])
local live, channel = ARGV[8], ARGV[9]
local W, PER = 10, ${PER_RECORD}
local total = (#ARGV - W + 1) / PER
-- A deleted user keeps no inbox.
if redis.call('HEXISTS', KEYS[9], ${lua(StatsField.deleted)}) == 1 then return { 'applied', 0, 0, 0, total } end
local head = redis.call('HMGET', inbox, ARGV[2], ${lua(InboxField.position)}, ${lua(InboxField.seenUpTo)}, ${lua(InboxField.readUpTo)}, ${lua(InboxField.clock)}, ${lua(InboxField.epoch)}, ${lua(InboxField.oldestMs)})
local from = tonumber(head[1] or '0')
local pos, seenUpTo, readUpTo, clock = tonumber(head[2] or '0'), tonumber(head[3] or '0'), tonumber(head[4] or '0'), tonumber(head[5] or '0')

-- The inbox log (deliveries and marks by position, with the counts after each): what a stream resumes from.
local logged = {}
-- The counts after the newest entry while they are known: from the sets after a mark or a drop; a
-- delivery that drops nothing adds one to each (its id is new, unread and after the seen watermark).
local known
local function counts()
  if not known then known = { inboxCounts(items, unread, archived, seenUpTo) } end
  return table.concat(known, '|')
end
-- The counts before the next entry: known, or at the step's start none for an inbox that never had
-- an entry, else the log's newest entry's when it is at the inbox's position (the log holds the
-- counts after every entry).
local function countsBefore()
  if known or #logged > 0 then return known end
  if pos == 0 then known = { 0, 0, 0 }; return known end
  local newest = redis.call('LINDEX', KEYS[10], -1)
  if not newest then return nil end
  local at, unseenN, unreadN, totalN = string.match(newest, '^(%d+)|%a|(%d+)|(%d+)|(%d+)|')
  if tonumber(at) == pos then known = { tonumber(unseenN), tonumber(unreadN), tonumber(totalN) } end
  return known
end

local function inWorkspace(id, ws)
  if ws == '' then return true end
  local entry = redis.call('HGET', data, id)
  return entry ~= false and inboxEntryIn(entry, ws)
end

local function mark(action, id, at)
  if action == 'read' then
    redis.call('ZADD', readSet, at, id)
    redis.call('ZREM', unread, id)
  elseif action == 'unread' then
    redis.call('ZREM', readSet, id)
    if not redis.call('ZSCORE', archived, id) then redis.call('ZADD', unread, at, id) end
  elseif action == 'archive' then
    redis.call('ZADD', archived, at, id)
    redis.call('ZREM', unread, id)
  elseif action == 'unarchive' then
    redis.call('ZREM', archived, id)
    if not redis.call('ZSCORE', readSet, id) then redis.call('ZADD', unread, at, id) end
  end
end

-- Retention, after each delivery (so the outcome does not depend on how records are cut into steps):
-- the oldest past the count, then, from the oldest position on, those older than the age on the
-- inbox's clock. The oldest kept notification's time is kept in the inbox hash until a drop: a
-- delivery only adds at the newest position, so while that time is inside the age nothing leaves.
local oldestMs = tonumber(head[7])
local function trim()
  local count = redis.call('ZCARD', items)
  if count > maxItems then
    dropItems(redis.call('ZRANGE', items, 0, count - maxItems - 1), items, unread, readSet, archived, data)
    oldestMs, known = nil, nil
  end
  local horizon = clock - maxAge
  if oldestMs and oldestMs >= horizon then return end
  oldestMs = nil
  for _ = 1, 1000 do
    local oldest = redis.call('ZRANGE', items, 0, 15)
    local gone = {}
    for _, id in ipairs(oldest) do
      local ms = inboxEntryMs(redis.call('HGET', data, id))
      if ms >= horizon then oldestMs = ms; break end
      gone[#gone + 1] = id
    end
    if #gone > 0 then dropItems(gone, items, unread, readSet, archived, data); known = nil end
    if #gone < 16 then break end
  end
end

local delivered, duplicates, marks, stale = 0, 0, 0, 0
for i = W, #ARGV, PER do
  if tonumber(ARGV[i]) < from then
    stale = stale + 1
  else
    local at = tonumber(ARGV[i + 1])
    if ARGV[i + 2] == 'd' then
      local id = ARGV[i + 3]
      local before = countsBefore()
      -- The items set and the data hash hold the same ids: an id the inbox holds is a duplicate.
      if redis.call('ZADD', items, 'NX', pos + 1, id) == 0 then
        duplicates = duplicates + 1
      else
        pos = pos + 1
        delivered = delivered + 1
        if at > clock then clock = at end
        redis.call('ZADD', unread, pos, id)
        redis.call('HSET', data, id, inboxEntry(ARGV[i + 4], ARGV[i + 1], ARGV[i + 5]))
        if before then known = { before[1] + 1, before[2] + 1, before[3] + 1 } end
        trim()
        logged[#logged + 1] = loggedDelivery(pos, counts(), id, ARGV[i + 4], ARGV[i + 1], ARGV[i + 5])
      end
    else
      pos = pos + 1
      marks = marks + 1
      known = nil
      local action, ws, ids = ARGV[i + 3], ARGV[i + 5], ARGV[i + 6]
      -- Everything applied before this mark, or less when the mark names less.
      local limit = pos - 1
      if ARGV[i + 4] ~= '' then limit = math.min(limit, tonumber(ARGV[i + 4])) end
      if action == 'seen' then
        if limit > seenUpTo then seenUpTo = limit end
      elseif ids == '' then
        local covered = redis.call('ZRANGE', items, '-inf', limit, 'BYSCORE', 'WITHSCORES')
        for j = 1, #covered, 2 do
          if inWorkspace(covered[j], ws) then mark(action, covered[j], covered[j + 1]) end
        end
        if action == 'read' and ws == '' and limit > readUpTo then readUpTo = limit end
      else
        for id in string.gmatch(ids, '[^,]+') do
          local at = redis.call('ZSCORE', items, id)
          if at and tonumber(at) <= limit then mark(action, id, at) end
        end
      end
      logged[#logged + 1] = loggedMark(pos, counts(), seenUpTo, readUpTo, action, ids)
    end
  end
end

if #logged > 0 then
  if redis.call('RPUSH', KEYS[10], unpack(logged)) > maxItems then redis.call('LTRIM', KEYS[10], -maxItems, -1) end
  if live ~= 'off' and listened(live, channel) then
    redis.call(live == 'spublish' and 'SPUBLISH' or 'PUBLISH', channel, ${lua(INBOX_LIVE_MARK)} .. (head[6] or generation) .. ${lua(LIVE_ENTRY_SEPARATOR)} .. table.concat(logged, ${lua(LIVE_ENTRY_SEPARATOR)}))
  end
end

local set = { ARGV[2], ARGV[3], ${lua(InboxField.position)}, pos, ${lua(InboxField.seenUpTo)}, seenUpTo, ${lua(InboxField.readUpTo)}, readUpTo, ${lua(InboxField.clock)}, clock }
if not head[6] then set[#set + 1] = ${lua(InboxField.epoch)}; set[#set + 1] = generation end
if oldestMs then
  set[#set + 1] = ${lua(InboxField.oldestMs)}; set[#set + 1] = oldestMs
elseif head[7] then
  redis.call('HDEL', inbox, ${lua(InboxField.oldestMs)})
end
redis.call('HSET', inbox, unpack(set))
return { 'applied', delivered, duplicates, marks, stale }
`;

type StepRedis = RedisClient & { applyInboxStep(...args: (string | number)[]): Promise<StepReply> };

/**
 * Applies a chunk of one `inbox.events` partition as one step per recipient, each a script in the
 * recipient's slot, the way `ActivityTransactions` applies activities (the same checkpoint, fences
 * and applied offsets, so crashes, rebalances and rebuilds behave alike).
 */
export class InboxTransactions {
  private readonly redis: StepRedis;
  private readonly steps: UserSteps;

  constructor(
    redis: RedisClient,
    connected: Promise<unknown>,
    private readonly prefix: string,
    private readonly options: InboxOptions,
  ) {
    redis.defineCommand('applyInboxStep', { numberOfKeys: 10, lua: APPLY_INBOX });
    this.redis = redis as StepRedis;
    this.steps = new UserSteps(redis, connected, prefix);
  }

  apply(range: RecordRange, writes: InboxWrite[]): Promise<ApplyOutcome> {
    // The step's tallies: deliveries applied, duplicates, marks applied, stale; a mark counts as applied.
    return this.steps.run(range, writes, async (s) => {
      const reply = await this.redis.applyInboxStep(
        ...this.stepArgs(
          s.userId,
          s.slot,
          s.group,
          s.layout,
          range.partition,
          s.next,
          s.fence.field,
          s.fence.expected,
        ),
      );
      return reply[0] === 'applied'
        ? ['applied', reply[1] + reply[3], reply[2], 0, reply[4]]
        : reply;
    });
  }

  private stepArgs(
    userId: number,
    slot: number,
    writes: InboxWrite[],
    layout: string,
    partition: number,
    next: bigint,
    fenceField: string,
    expected: bigint,
  ): (string | number)[] {
    const p = this.prefix;
    const inbox = inboxKeys(p, userId);
    const args: (string | number)[] = [
      stepMarker(this.redis, p, slot),
      ...inbox.slice(0, 6),
      ProjectionKeys.slotFence(p, slot),
      ProjectionKeys.stats(p, userId),
      inbox[6]!,
      layout,
      `${InboxField.appliedOffset}${partition}`,
      String(next),
      this.options.maxItems,
      this.options.maxAgeMs,
      fenceField,
      String(expected),
      this.options.live,
      ProjectionKeys.liveChannel(p, userId),
    ];
    for (const w of writes) {
      if (w.kind === 'delivered')
        args.push(
          String(w.offset),
          w.recordMs,
          'd',
          w.deliveryId,
          w.workspaceId,
          w.activityJson,
          '',
        );
      else
        args.push(
          String(w.offset),
          w.recordMs,
          'm',
          w.action,
          w.upTo === undefined ? '' : w.upTo,
          w.workspaceId === undefined ? '' : w.workspaceId,
          (w.ids ?? []).join(','),
        );
    }
    return args;
  }
}
