/**
 * Lua scripts that apply a whole Kafka batch in one Redis round trip, together with the
 * partition's next offset, so a redelivered batch changes nothing. Keys are built inside the
 * script from the prefix: projections live on one Redis primary (not Redis Cluster).
 */

/**
 * ARGV: prefix, offsetsKey, offsetField, nextOffset, feedCap, dedupWindowMs, publishLive, n, then
 * 8 per event. Events arrive grouped by user (partition order kept within a user), so the
 * per-user work (tombstone check, count, feed trim, recency, dedup-window trim) runs once per
 * user per call and the per-event work is one ZADD NX (dedup) plus variadic writes.
 */
export const APPLY_ACTIVITIES = `
local prefix, offsetsKey, field = ARGV[1], ARGV[2], ARGV[3]
local nextOffset, cap, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local live = ARGV[7] ~= '0'
local publish = ARGV[7] == 'sharded' and 'SPUBLISH' or 'PUBLISH'
local stored = tonumber(redis.call('HGET', offsetsKey, field) or '0')
local applied, duplicates, dropped, stale = 0, 0, 0, 0

local function flush(u, uid, group)
  local n = #group
  if n == 0 then return end
  local feed, items, maxSeen, wsLast, wsCount = {}, {}, 0, {}, {}
  for _, e in ipairs(group) do
    feed[#feed + 1] = 0; feed[#feed + 1] = e.member
    items[#items + 1] = e.member; items[#items + 1] = e.json
    if e.seenAt > maxSeen then maxSeen = e.seenAt end
    local t = tonumber(string.sub(e.member, 1, 15))
    if t > (wsLast[e.ws] or 0) then wsLast[e.ws] = t end
    wsCount[e.ws] = (wsCount[e.ws] or 0) + 1
  end
  redis.call('ZREMRANGEBYSCORE', u .. 'seen', '-inf', '(' .. (maxSeen - window))
  redis.call('INCRBY', u .. 'count', n)
  redis.call('ZADD', u .. 'feed', unpack(feed))
  redis.call('HSET', u .. 'items', unpack(items))
  local size = redis.call('ZCARD', u .. 'feed')
  if size > cap then
    local evicted = redis.call('ZRANGE', u .. 'feed', 0, size - cap - 1)
    redis.call('ZREMRANGEBYRANK', u .. 'feed', 0, size - cap - 1)
    redis.call('HDEL', u .. 'items', unpack(evicted))
  end
  for ws, t in pairs(wsLast) do
    local last = tonumber(redis.call('HGET', u .. 'wslast', ws) or '0')
    if t > last then redis.call('HSET', u .. 'wslast', ws, t) end
    redis.call('HINCRBY', u .. 'wscount', ws, wsCount[ws])
  end
  if live then
    local channel = prefix .. 'live:' .. uid
    for _, e in ipairs(group) do
      redis.call(publish, channel, '{"type":"activity","cursor":"' .. e.cursor .. '","activity":' .. e.json .. '}')
    end
  end
  applied = applied + n
end

local uid, u, deleted, group = nil, nil, false, {}
local i = 9
for _ = 1, tonumber(ARGV[8]) do
  local offset, id = tonumber(ARGV[i]), ARGV[i + 2]
  if ARGV[i + 1] ~= uid then
    if uid then flush(u, uid, group) end
    uid = ARGV[i + 1]
    u = prefix .. 'u:' .. uid .. ':'
    deleted = redis.call('EXISTS', u .. 'deleted') == 1
    group = {}
  end
  if offset < stored then
    stale = stale + 1
  elseif deleted then
    dropped = dropped + 1
  elseif redis.call('ZADD', u .. 'seen', 'NX', ARGV[i + 3], id) == 0 then
    -- ZADD NX both checks and records the id: one call per event for deduplication.
    duplicates = duplicates + 1
  else
    group[#group + 1] = { id = id, seenAt = tonumber(ARGV[i + 3]), ws = ARGV[i + 4], member = ARGV[i + 5], json = ARGV[i + 6], cursor = ARGV[i + 7] }
  end
  i = i + 8
end
if uid then flush(u, uid, group) end
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
      redis.call('DEL', u .. 'count', u .. 'feed', u .. 'items', u .. 'seen', u .. 'wslast', u .. 'wscount', u .. 'accessv')
      redis.call('SET', u .. 'deleted', '1')
      if live then redis.call(publish, prefix .. 'live:' .. uid, '{"type":"deleted","userId":' .. uid .. '}') end
    elseif t == 'io.activitysuite.user.access-changed' then
      local uid = tostring(d['userId'])
      local u = prefix .. 'u:' .. uid .. ':'
      local current = tonumber(redis.call('GET', u .. 'accessv') or '-1')
      if redis.call('EXISTS', u .. 'deleted') == 0 and d['version'] > current then
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
