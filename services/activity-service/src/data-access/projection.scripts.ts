/**
 * Lua scripts that apply a whole Kafka batch in one Redis round trip, together with the
 * partition's next offset, so a redelivered batch changes nothing. Keys are built inside the
 * script from the prefix: projections live on one Redis primary (not Redis Cluster).
 */

/**
 * ARGV: prefix, offsetsKey, offsetField, nextOffset, feedCap, dedupWindowMs, publishLive, groups,
 * then per group: userId, k, the group's newest Kafka timestamp, and k events of 6 (offset, id,
 * seenAt, workspaceId, feed entry, traceparent or ''). A group is a run of one user's events in
 * partition order. The live notice is the entries, each preceded by its traceparent when it has one.
 *
 * Per user key layout: `stats` hash (`n` total, `l:<ws>` last active ms, `c:<ws>` count, and
 * `deleted` as the tombstone), `feed` sorted set of entries (`feedEntry`: member, newline, JSON),
 * `seen` sorted set id -> Kafka timestamp (the dedup window).
 *
 * Cost model, measured (bench/activity-projection.bench.ts): every redis.call and every string
 * the script builds costs microseconds, so the script makes a fixed eight calls per group
 * whatever its size, and builds no string per event: entries arrive ready-made and the live
 * notice is those entries joined once.
 */
export const APPLY_ACTIVITIES = `
local prefix, offsetsKey, field = ARGV[1], ARGV[2], ARGV[3]
local nextOffset, cap, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local live = ARGV[7] ~= '0'
local publish = ARGV[7] == 'sharded' and 'SPUBLISH' or 'PUBLISH'
local stored = tonumber(redis.call('HGET', offsetsKey, field) or '0')
local applied, duplicates, dropped, stale = 0, 0, 0, 0

local function apply(uid, maxSeen, fresh)
  local u = prefix .. 'u:' .. uid .. ':'
  -- One read: the tombstone, the total and this group's workspace fields.
  local fields, slot, ids = { 'deleted', 'n' }, {}, {}
  for x, at in ipairs(fresh) do
    ids[x] = ARGV[at + 1]
    local ws = ARGV[at + 3]
    if not slot[ws] then
      slot[ws] = #fields + 1
      fields[#fields + 1] = 'l:' .. ws
      fields[#fields + 1] = 'c:' .. ws
    end
  end
  local stats = redis.call('HMGET', u .. 'stats', unpack(fields))
  if stats[1] then
    dropped = dropped + #fresh
    return
  end
  local known = redis.call('ZMSCORE', u .. 'seen', unpack(ids))
  local inGroup, marks, feed, entries, last, count = {}, {}, {}, {}, {}, {}
  local n = 0
  for x, at in ipairs(fresh) do
    local id = ids[x]
    if known[x] or inGroup[id] then
      duplicates = duplicates + 1
    else
      inGroup[id] = true
      n = n + 1
      local ws, entry = ARGV[at + 3], ARGV[at + 4]
      -- Strings, not numbers: redis.call formats a Lua number with sprintf on every call.
      marks[2 * n - 1] = ARGV[at + 2]; marks[2 * n] = id
      feed[2 * n - 1] = '0'; feed[2 * n] = entry
      local tp = ARGV[at + 5]
      entries[n] = tp == '' and entry or (tp .. '\\31' .. entry)
      local t = tonumber(string.sub(entry, 1, 15))
      if t > (last[ws] or 0) then last[ws] = t end
      count[ws] = (count[ws] or 0) + 1
    end
  end
  if n == 0 then return end
  redis.call('ZADD', u .. 'seen', unpack(marks))
  redis.call('ZREMRANGEBYSCORE', u .. 'seen', '-inf', '(' .. (maxSeen - window))
  redis.call('ZADD', u .. 'feed', unpack(feed))
  redis.call('ZREMRANGEBYRANK', u .. 'feed', 0, -cap - 1)
  local set = { 'n', (tonumber(stats[2]) or 0) + n }
  for ws, t in pairs(last) do
    local s = slot[ws]
    set[#set + 1] = 'l:' .. ws; set[#set + 1] = math.max(t, tonumber(stats[s]) or 0)
    set[#set + 1] = 'c:' .. ws; set[#set + 1] = (tonumber(stats[s + 1]) or 0) + count[ws]
  end
  redis.call('HSET', u .. 'stats', unpack(set))
  if live then redis.call(publish, prefix .. 'live:' .. uid, table.concat(entries, '\\30')) end
  applied = applied + n
end

local i = 9
for _ = 1, tonumber(ARGV[8]) do
  local uid, k, maxSeen = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  i = i + 3
  local fresh = {}
  for at = i, i + (k - 1) * 6, 6 do
    if tonumber(ARGV[at]) < stored then stale = stale + 1 else fresh[#fresh + 1] = at end
  end
  if #fresh > 0 then apply(uid, maxSeen, fresh) end
  i = i + k * 6
end
if nextOffset > stored then redis.call('HSET', offsetsKey, field, nextOffset) end
return { applied, duplicates, dropped, stale }
`;

/** ARGV: prefix, offsetsKey, offsetField, nextOffset, publishLive, n, then 2 per event (offset, event JSON). */
export const APPLY_USERS_EVENTS = `
local prefix, offsetsKey, field, nextOffset = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local live = ARGV[5] ~= '0'
local publish = ARGV[5] == 'sharded' and 'SPUBLISH' or 'PUBLISH'
local stored = tonumber(redis.call('HGET', offsetsKey, field) or '0')
local applied = 0
local function forget_access(u, uid)
  for _, ws in ipairs(redis.call('HKEYS', u .. 'access')) do redis.call('SREM', prefix .. 'ws:' .. ws .. ':members', uid) end
  redis.call('DEL', u .. 'access')
end
local i = 7
for _ = 1, tonumber(ARGV[6]) do
  local offset, event = tonumber(ARGV[i]), cjson.decode(ARGV[i + 1])
  i = i + 2
  if offset >= stored then
    local t, d = event['type'], event['data']
    if t == 'io.activitysuite.user.deleted' then
      local uid = tostring(d['userId'])
      local u = prefix .. 'u:' .. uid .. ':'
      forget_access(u, uid)
      redis.call('DEL', u .. 'feed', u .. 'seen', u .. 'stats', u .. 'accessv')
      redis.call('HSET', u .. 'stats', 'deleted', '1')
      if live then redis.call(publish, prefix .. 'live:' .. uid, '{"type":"deleted","userId":' .. uid .. '}') end
    elseif t == 'io.activitysuite.user.access-changed' then
      local uid = tostring(d['userId'])
      local u = prefix .. 'u:' .. uid .. ':'
      local current = tonumber(redis.call('GET', u .. 'accessv') or '-1')
      if redis.call('HEXISTS', u .. 'stats', 'deleted') == 0 and d['version'] > current then
        forget_access(u, uid)
        for _, w in ipairs(d['workspaces']) do
          local ws = tostring(w['workspaceId'])
          redis.call('HSET', u .. 'access', ws, cjson.encode({ name = w['name'], role = w['role'] }))
          redis.call('SADD', prefix .. 'ws:' .. ws .. ':members', uid)
        end
        redis.call('SET', u .. 'accessv', d['version'])
      end
    elseif t == 'io.activitysuite.workspace.renamed' then
      local ws = tostring(d['workspaceId'])
      for _, uid in ipairs(redis.call('SMEMBERS', prefix .. 'ws:' .. ws .. ':members')) do
        local u = prefix .. 'u:' .. uid .. ':'
        local entry = redis.call('HGET', u .. 'access', ws)
        if entry then
          local a = cjson.decode(entry)
          redis.call('HSET', u .. 'access', ws, cjson.encode({ name = d['name'], role = a['role'] }))
        end
      end
    elseif t == 'io.activitysuite.workspace.deleted' then
      local ws = tostring(d['workspaceId'])
      for _, uid in ipairs(redis.call('SMEMBERS', prefix .. 'ws:' .. ws .. ':members')) do
        redis.call('HDEL', prefix .. 'u:' .. uid .. ':access', ws)
      end
      redis.call('DEL', prefix .. 'ws:' .. ws .. ':members')
    end
    applied = applied + 1
  end
end
if nextOffset > stored then redis.call('HSET', offsetsKey, field, nextOffset) end
return applied
`;
