import { hash } from 'node:crypto';
import {
  FEED_BLOCK_SIZE,
  FEED_MEMBER_LUA,
  LIVE_ENTRY_SEPARATOR,
  LOG_ENTRY_LUA,
  LIVE_TRACE_SEPARATOR,
  PART_KEY_LUA,
  PROJECTION_LAYOUT_VERSION,
  ProjectionKeys,
  SEEN_BUCKETS,
  SEEN_TRIM_EVERY,
  StatsField,
} from '@suite/contracts';
import type { RedisClient } from '@suite/redis';
import {
  LIVE_LISTENED_LUA,
  STEP_MARKED,
  luaString as lua,
  stepMarker,
} from './projection.state.js';
import { UserSteps, type StepReply } from './user-steps.js';

/** One valid activity record, ready to apply. */
export interface ActivityWrite {
  offset: bigint;
  userId: number;
  eventId: string;
  /** Kafka record timestamp (ms): the dedup window is measured on it, so replays decide alike. */
  seenAt: number;
  workspaceId: number;
  /** Event time (ms). */
  timeMs: number;
  /** The activity as the API returns it, JSON. */
  json: string;
  /** The record's W3C traceparent, passed on in the live batch; '' when none. */
  traceparent: string;
}

/** The records one chunk covers: offsets `first`..`last` of a partition, valid or not. */
export interface RecordRange {
  topic: string;
  partition: number;
  first: bigint;
  last: bigint;
  /** `first` is the partition's log start: apply from it even when the stored offset is lower or missing. */
  fromLogStart: boolean;
}

export type ApplyOutcome =
  | { kind: 'applied'; applied: number; duplicates: number; dropped: number; stale: number }
  /** The stored offset is before this range (or missing): Redis is behind the consumer. */
  | { kind: 'behind'; stored: bigint | null }
  /** The projections are gone (no layout key), or one slot's are (its marker is missing: `slot`, under `generation`). */
  | { kind: 'lost'; slot?: { slot: number; generation: string } }
  /** Another layout version owns the prefix. */
  | { kind: 'foreign'; found: string };

/** How live batches are published: not at all, PUBLISH, or SPUBLISH (sharded pub/sub). */
export type LiveMode = 'off' | 'publish' | 'spublish';

export interface TransactionOptions {
  feedCap: number;
  dedupWindowMs: number;
  /** Workspaces whose recency and count a user's stats keep; past it the least recently active are evicted. */
  workspaceCap: number;
  /** Event ids a user's dedup set keeps at most (the newest), however many the window holds. */
  dedupMaxIds: number;
  live: LiveMode;
}

/** Arguments per write, after the fixed ones. */
const PER_WRITE = 7;

/**
 * What the dedup buckets hold for an event id: 8 characters of 7 bits from its SHA-256 (56 bits),
 * ASCII so that ioredis sends them as a plain string (a Buffer argument costs it more per step). Two
 * ids of one user collide with a probability of about n^2 / 2^57 (n ids in the window: 7 x 10^-10 at
 * 10,000); a publisher who wanted to hide an event behind another id would need a second preimage
 * (2^56 work for one chosen event).
 */
export function dedupId(eventId: string): string {
  // The one-shot hash: 0.9 µs per id against 1.5 for createHash (measured, Node 24).
  const digest = hash('sha256', eventId, 'buffer');
  let id = '';
  for (let i = 0; i < 8; i++) id += String.fromCharCode(digest[i]! & 0x7f);
  return id;
}

/**
 * One user's step, atomic in the user's slot. KEYS: slot marker, stats, seen, feed, log, slot fence
 * (seen and feed: the base names of the dedup buckets and feed blocks, which share the user's hash
 * tag). ARGV: layout value, partition field (`o:<p>`), next offset, dedup window, feed cap, dedup cap,
 * workspace cap, live mode, live channel, fence field (`<topic>:<p>`), the fence this consumer
 * expects at least, then per write: offset, dedup id (`dedupId`), record time, workspace, event
 * time, activity JSON, traceparent.
 *
 * The slot's fence is the offset after the partition's last record applied in the slot. Lower than what this
 * consumer wrote there before, the slot went back in time since (a snapshot restored, a failover to
 * a replica that lagged) and the step writes nothing: `behind`, with the fence, and the consumer
 * rewinds the partition to it. Without it a step decided before such a restore would write on top
 * of the older state and leave a gap no later check sees.
 *
 * The user's `o:<p>` field is the next offset of the partition already applied to this user: a
 * write before it is stale (a replay after a crash, a second consumer after a rebalance), so each
 * record is applied exactly once per user, whoever runs the step and however often. The dedup
 * window, positions, workspace cap and the live batch are decided as they were when this ran as
 * one Node transaction, one write at a time, so a replay of the same log decides alike.
 */
export const APPLY_USER = `${STEP_MARKED}${LIVE_LISTENED_LUA}${PART_KEY_LUA}
local generation = string.sub(ARGV[1], ${PROJECTION_LAYOUT_VERSION.length + 2})
local stats, seen, feed, log = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local offsetField, nextOffset = ARGV[2], ARGV[3]
local window, feedCap, dedupMax, wsCap = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local live, channel = ARGV[8], ARGV[9]
local W, PER = 12, ${PER_WRITE}
local fence = tonumber(redis.call('HGET', KEYS[6], ARGV[10]) or '0')
if fence < tonumber(ARGV[11]) then return { 'behind', fence } end
-- The offset after the user's last record: the same however the log is cut into chunks (a rebuild agrees).
local upTo = tonumber(ARGV[#ARGV - PER + 1]) + 1
if fence < upTo then redis.call('HSET', KEYS[6], ARGV[10], upTo) end
local total = (#ARGV - W + 1) / PER
local LAST, COUNT = ${lua(StatsField.lastActive)}, ${lua(StatsField.workspaceCount)}

-- The batch's workspaces, in first-seen order.
local order, index = {}, {}
for i = W, #ARGV, PER do
  local ws = ARGV[i + 3]
  if not index[ws] then
    order[#order + 1] = ws
    index[ws] = #order
  end
end
-- One read of the stats: the user's head, then what they hold for each of the batch's workspaces.
local fields = { ${lua(StatsField.deleted)}, ${lua(StatsField.count)}, ${lua(StatsField.position)}, ${lua(StatsField.seenUntil)}, ${lua(StatsField.workspaces)}, offsetField, ${lua(StatsField.newestTime)}, ${lua(StatsField.disorderedUpTo)}, ${lua(StatsField.epoch)} }
local H = #fields
for s, ws in ipairs(order) do
  fields[H + 2 * s - 1] = LAST .. ws
  fields[H + 2 * s] = COUNT .. ws
end
local head = redis.call('HMGET', stats, unpack(fields))
local known = {}
for j = 1, 2 * #order do known[j] = head[H + j] end
local from = tonumber(head[6] or '0')
local stale = 0
for i = W, #ARGV, PER do
  if tonumber(ARGV[i]) < from then stale = stale + 1 end
end
if head[1] then return { 'applied', 0, 0, total - stale, stale } end
if stale == total then return { 'applied', 0, 0, 0, stale } end

-- Sends a command with many arguments in slices (Lua's stack bounds one call's arguments).
local function sliced(command, key, items, per)
  if #items <= per then return redis.call(command, key, unpack(items)) end
  for at = 1, #items, per do
    local part = {}
    for j = at, math.min(at + per - 1, #items) do part[#part + 1] = items[j] end
    redis.call(command, key, unpack(part))
  end
end

-- Dedup on the user's own clock (the newest record time applied so far): it only moves forward
-- in partition order, so the same records decide alike however they are cut into steps. An id
-- lives in one of the user's buckets, chosen by its first byte.
local clock = tonumber(head[4] or '0')
local applied, fresh = {}, {}
local duplicates = 0
local last, added = {}, {}
-- Per bucket: the marks not written yet (the trims write them first, the step's end the rest).
local marks = {}
local perBucket = math.ceil(dedupMax / ${SEEN_BUCKETS})
local position = tonumber(head[3] or '0')
-- Writes the marks gathered so far, then trims every bucket: ids older than the window against
-- the clock (they can never match again: the clock only moves forward), and past the newest
-- perBucket of each. It runs when the user's position reaches a multiple of SEEN_TRIM_EVERY, at
-- that record, so a replay cut into other steps trims at the same records and decides alike.
local function flushAndTrim()
  for bucket, list in pairs(marks) do sliced('ZADD', bucket, list, 2000) end
  marks = {}
  local oldest = '(' .. string.format('%.3f', (clock - window) / 1000)
  for b = 0, ${SEEN_BUCKETS} - 1 do
    redis.call('ZREMRANGEBYSCORE', partKey(seen, b), '-inf', oldest)
    redis.call('ZREMRANGEBYRANK', partKey(seen, b), 0, -perBucket - 1)
  end
end
for i = W, #ARGV, PER do
  if tonumber(ARGV[i]) >= from then
    -- Marks are whole seconds, rounded up (an id is held at least as long as the window says).
    local id, seenAt = ARGV[i + 1], math.ceil(tonumber(ARGV[i + 2]) / 1000)
    local bucket = partKey(seen, string.byte(id, 1) % ${SEEN_BUCKETS})
    local now = math.max(clock, tonumber(ARGV[i + 2]))
    local before = applied[id]
    if not before then
      local score = redis.call('ZSCORE', bucket, id)
      before = score and tonumber(score)
    end
    if before and now - before * 1000 <= window then
      duplicates = duplicates + 1
    else
      applied[id] = seenAt
      clock = now
      fresh[#fresh + 1] = i
      local list = marks[bucket]
      if not list then list = {}; marks[bucket] = list end
      list[#list + 1] = seenAt
      list[#list + 1] = id
      position = position + 1
      if position % ${SEEN_TRIM_EVERY} == 0 then flushAndTrim() end
      local s = index[ARGV[i + 3]]
      local t = tonumber(ARGV[i + 4])
      if t > (last[s] or 0) then last[s] = t end
      added[s] = (added[s] or 0) + 1
    end
  end
end
local k = #fresh
if k == 0 then
  redis.call('HSET', stats, offsetField, nextOffset)
  return { 'applied', 0, duplicates, 0, stale }
end

-- The marks after the last trim (the trims wrote the earlier ones).
for bucket, list in pairs(marks) do sliced('ZADD', bucket, list, 2000) end

-- The log holds each activity once, in application order, each entry with its position and whether
-- it is in order (its time at least the newest applied before it); the feed blocks index the
-- positions by event time. Both keep the newest feedCap positions. An entry out of order moves the
-- disorder mark (past it, the feed is the log reversed).
${FEED_MEMBER_LUA}
${LOG_ENTRY_LUA}
local count = tonumber(head[2] or '0') + k
local first = tonumber(head[3] or '0') + 1
local newestTime, disordered = tonumber(head[7] or '0'), tonumber(head[8] or '0')
local F = ${FEED_BLOCK_SIZE}
local blocks, bodies = {}, {}
for j, i in ipairs(fresh) do
  local position = first + j - 1
  local t = tonumber(ARGV[i + 4])
  local inOrder = t >= newestTime
  if inOrder then newestTime = t else disordered = position end
  local block = partKey(feed, math.floor(position / F))
  local list = blocks[block]
  if not list then list = {}; blocks[block] = list end
  list[#list + 1] = ARGV[i + 4]
  list[#list + 1] = feedMember(position)
  bodies[#bodies + 1] = logEntry(position, inOrder, ARGV[i + 5])
end
for block, list in pairs(blocks) do sliced('ZADD', block, list, 2000) end
local length = 0
for at = 1, #bodies, 1000 do length = redis.call('RPUSH', log, unpack(bodies, at, math.min(at + 999, #bodies))) end
if length > feedCap then
  redis.call('LTRIM', log, -feedCap, -1)
  -- Positions oldest .. keep - 1 left the log: out of their blocks (a block left whole is deleted).
  local newest = first + k - 1
  local oldest, keep = newest - length + 1, newest - feedCap + 1
  for b = math.floor(oldest / F), math.floor((keep - 1) / F) do
    local block = partKey(feed, b)
    if (b + 1) * F <= keep then redis.call('DEL', block)
    else
      local gone = {}
      for position = math.max(oldest, b * F), keep - 1 do gone[#gone + 1] = feedMember(position) end
      sliced('ZREM', block, gone, 2000)
    end
  end
end
-- Only the fields this step changes: each field set in the stats' listpack is a scan of it.
local set = { ${lua(StatsField.count)}, count, ${lua(StatsField.position)}, first + k - 1, ${lua(StatsField.seenUntil)}, clock, offsetField, nextOffset }
if head[9] ~= generation then set[#set + 1] = ${lua(StatsField.epoch)}; set[#set + 1] = generation end
if newestTime ~= tonumber(head[7] or '0') then set[#set + 1] = ${lua(StatsField.newestTime)}; set[#set + 1] = newestTime end
if disordered ~= tonumber(head[8] or '0') then set[#set + 1] = ${lua(StatsField.disorderedUpTo)}; set[#set + 1] = disordered end

-- Workspaces: recency and count per workspace, at most wsCap of them.
local newWs, newAdded = 0, 0
for s = 1, #order do
  if not known[2 * s - 1] then
    newWs = newWs + 1
    if added[s] then newAdded = newAdded + 1 end
  end
end
-- How many workspaces the stats track: none for a new user, unknown for stats from before the count.
local tracked
if head[5] then tracked = tonumber(head[5]) elseif not head[2] then tracked = 0 end
if newWs > 0 and (tracked == nil or tracked + newWs > wsCap) then
  -- At (or past) the cap, or stats from before the count: every fresh activity in turn, the least
  -- recently active workspace (then the lowest id) forgotten past the cap.
  local state, counts, size = {}, {}, 0
  local all = redis.call('HGETALL', stats)
  for j = 1, #all, 2 do
    local f = all[j]
    if string.sub(f, 1, #LAST) == LAST then
      state[string.sub(f, #LAST + 1)] = { last = tonumber(all[j + 1]) }
      size = size + 1
    elseif string.sub(f, 1, #COUNT) == COUNT then
      counts[string.sub(f, #COUNT + 1)] = tonumber(all[j + 1])
    end
  end
  local before = {}
  for ws, e in pairs(state) do
    before[ws] = true
    e.count = counts[ws] or 0
  end
  local touched = {}
  for _, i in ipairs(fresh) do
    local ws, t = ARGV[i + 3], tonumber(ARGV[i + 4])
    local e = state[ws]
    if not e then
      e = { last = 0, count = 0 }
      state[ws] = e
      size = size + 1
    end
    if t > e.last then e.last = t end
    e.count = e.count + 1
    touched[ws] = true
    if size > wsCap then
      local oldest, oldestLast
      for w, v in pairs(state) do
        if not oldest or v.last < oldestLast or (v.last == oldestLast and tonumber(w) < tonumber(oldest)) then oldest, oldestLast = w, v.last end
      end
      state[oldest] = nil
      size = size - 1
    end
  end
  for ws in pairs(touched) do
    local e = state[ws]
    if e then
      set[#set + 1] = LAST .. ws; set[#set + 1] = e.last
      set[#set + 1] = COUNT .. ws; set[#set + 1] = e.count
    end
  end
  set[#set + 1] = ${lua(StatsField.workspaces)}; set[#set + 1] = size
  local evicted = {}
  for ws in pairs(before) do
    if not state[ws] then evicted[#evicted + 1] = LAST .. ws; evicted[#evicted + 1] = COUNT .. ws end
  end
  if #evicted > 0 then redis.call('HDEL', stats, unpack(evicted)) end
else
  for s, ws in ipairs(order) do
    if added[s] then
      set[#set + 1] = LAST .. ws; set[#set + 1] = math.max(last[s], tonumber(known[2 * s - 1] or '0'))
      set[#set + 1] = COUNT .. ws; set[#set + 1] = tonumber(known[2 * s] or '0') + added[s]
    end
  end
  -- Stats from before the count keep none until their first new workspace counts them all.
  if tracked ~= nil then set[#set + 1] = ${lua(StatsField.workspaces)}; set[#set + 1] = tracked + newAdded end
end
redis.call('HSET', stats, unpack(set))

if live ~= 'off' and listened(live, channel) then
  local parts = { generation .. '.' .. first }
  for _, i in ipairs(fresh) do
    local trace = ARGV[i + 6]
    if trace ~= '' then parts[#parts + 1] = ${lua(LIVE_ENTRY_SEPARATOR)} .. trace .. ${lua(LIVE_TRACE_SEPARATOR)} .. ARGV[i + 5]
    else parts[#parts + 1] = ${lua(LIVE_ENTRY_SEPARATOR)} .. ARGV[i + 5] end
  end
  redis.call(live == 'spublish' and 'SPUBLISH' or 'PUBLISH', channel, table.concat(parts))
end
return { 'applied', k, duplicates, 0, stale }
`;

type StepRedis = RedisClient & { applyUserStep(...args: (string | number)[]): Promise<StepReply> };

/**
 * Applies a chunk of one partition's activity records as one step per user (`UserSteps`):
 * per user one script, the slot's marker present (else its primary lost it), the user's records
 * from its own applied offset on, dedup, feed, stream log with positions, stats, live batch, and
 * the user's new applied offset, all at once.
 */
export class ActivityTransactions {
  private readonly redis: StepRedis;
  private readonly steps: UserSteps;

  constructor(
    redis: RedisClient,
    /** The client's connect(): steps wait for it (a failed start is retried by the client itself). */
    connected: Promise<unknown>,
    private readonly prefix: string,
    private readonly options: TransactionOptions,
  ) {
    redis.defineCommand('applyUserStep', { numberOfKeys: 6, lua: APPLY_USER });
    this.redis = redis as StepRedis;
    this.steps = new UserSteps(redis, connected, prefix);
  }

  apply(range: RecordRange, writes: ActivityWrite[]): Promise<ApplyOutcome> {
    return this.steps.run(range, writes, (s) =>
      this.redis.applyUserStep(
        ...this.stepArgs(s.userId, s.slot, s.group, s.layout, range.partition, s.next, s.fence),
      ),
    );
  }

  private stepArgs(
    userId: number,
    slot: number,
    writes: ActivityWrite[],
    layout: string,
    partition: number,
    next: bigint,
    fence: { field: string; expected: bigint },
  ): (string | number)[] {
    const p = this.prefix;
    const { dedupWindowMs, feedCap, dedupMaxIds, workspaceCap, live } = this.options;
    const args: (string | number)[] = [
      stepMarker(this.redis, p, slot),
      ProjectionKeys.stats(p, userId),
      ProjectionKeys.seen(p, userId),
      ProjectionKeys.feed(p, userId),
      ProjectionKeys.log(p, userId),
      ProjectionKeys.slotFence(p, slot),
      layout,
      `${StatsField.appliedOffset}${partition}`,
      String(next),
      dedupWindowMs,
      feedCap,
      dedupMaxIds,
      workspaceCap,
      live,
      ProjectionKeys.liveChannel(p, userId),
      fence.field,
      String(fence.expected),
    ];
    for (const w of writes)
      args.push(
        String(w.offset),
        dedupId(w.eventId),
        w.seenAt,
        w.workspaceId,
        w.timeMs,
        w.json,
        w.traceparent,
      );
    return args;
  }
}
