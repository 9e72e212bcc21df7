import type { RedisClient } from '@suite/redis';
import { PROJECTION_LAYOUT_VERSION, ProjectionKeys, StatsField, type LiveNotice } from '@suite/contracts';
import type { LiveMode, RecordRange } from './activity.transaction.js';

/**
 * Applies a chunk of users.events records in one script, with the same checks as the activity
 * transaction (layout present and ours, stored offset inside the range) and the partition's next
 * offset. Users events are few, and each may touch many users' keys (a workspace rename reaches
 * every member), so a script that reads and writes as it goes is the simple way here.
 *
 * The script knows no key name, field or event type: key templates (`head`, NUL, `tail`), field
 * names and the deletion notice arrive as arguments, built from `packages/contracts`; each event
 * arrives as an operation (5 arguments: op, offset, a, b, c):
 *   D offset userId notice          user deleted: purge, tombstone, live notice
 *   A offset userId version json    access changed: replace the replica (json: [{workspaceId,name,role}])
 *   R offset workspaceId name ver   workspace renamed (ver '' on records from before versions)
 *   W offset workspaceId            workspace deleted
 */
const APPLY_USERS_EVENTS = `
local layoutKey, offsetKey, version = ARGV[1], ARGV[2], ARGV[3]
local first, last, fromLogStart = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
local publish = ARGV[7] == 'spublish' and 'SPUBLISH' or 'PUBLISH'
local live = ARGV[7] ~= 'off'
local function template(t)
  local at = string.find(t, '\\0', 1, true)
  return string.sub(t, 1, at - 1), string.sub(t, at + 1)
end
local uHead, uTail = template(ARGV[8])
local wsHead, wsTail = template(ARGV[9])
local liveHead, liveTail = template(ARGV[10])
local sStats, sFeed, sLog, sSeen, sAccess, sAccessv, deletedField = ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15], ARGV[16], ARGV[17]
local wsvHead, wsvTail = template(ARGV[18])
local nextOffset = ARGV[19]
local OPS = 20

local layout = redis.call('GET', layoutKey)
if not layout then return { 'lost' } end
if string.sub(layout, 1, #version + 1) ~= version .. ':' then return { 'foreign', layout } end
local storedText = redis.call('GET', offsetKey)
local stored = storedText and tonumber(storedText)
local start = first
if (not stored) or stored < first then
  if not fromLogStart then return { 'behind', storedText or '' } end
elseif stored > first then
  start = stored
end
if start > last then return { 'applied', 0 } end

local function forget_access(u, uid)
  for _, ws in ipairs(redis.call('HKEYS', u .. sAccess)) do redis.call('SREM', wsHead .. ws .. wsTail, uid) end
  redis.call('DEL', u .. sAccess)
end
local applied = 0
for i = OPS, #ARGV, 5 do
  local op, offset, a, b, c = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  if offset >= start then
    if op == 'D' then
      local u = uHead .. a .. uTail
      forget_access(u, a)
      redis.call('DEL', u .. sFeed, u .. sLog, u .. sSeen, u .. sStats, u .. sAccessv)
      redis.call('HSET', u .. sStats, deletedField, '1')
      if live then redis.call(publish, liveHead .. a .. liveTail, b) end
    elseif op == 'A' then
      local u = uHead .. a .. uTail
      local current = tonumber(redis.call('GET', u .. sAccessv) or '-1')
      if redis.call('HEXISTS', u .. sStats, deletedField) == 0 and tonumber(b) > current then
        forget_access(u, a)
        for _, w in ipairs(cjson.decode(c)) do
          local ws = tostring(w['workspaceId'])
          redis.call('HSET', u .. sAccess, ws, cjson.encode({ name = w['name'], role = w['role'] }))
          redis.call('SADD', wsHead .. ws .. wsTail, a)
        end
        redis.call('SET', u .. sAccessv, b)
      end
    elseif op == 'R' then
      -- Only a rename newer than the newest applied: a replayed record changes nothing.
      local vkey = wsvHead .. a .. wsvTail
      local newest = tonumber(redis.call('GET', vkey) or '-1')
      local ver = c ~= '' and tonumber(c) or nil
      if (ver and ver > newest) or (not ver and newest < 0) then
        if ver then redis.call('SET', vkey, c) end
        for _, uid in ipairs(redis.call('SMEMBERS', wsHead .. a .. wsTail)) do
          local key = uHead .. uid .. uTail .. sAccess
          local entry = redis.call('HGET', key, a)
          if entry then redis.call('HSET', key, a, cjson.encode({ name = b, role = cjson.decode(entry)['role'] })) end
        end
      end
    elseif op == 'W' then
      for _, uid in ipairs(redis.call('SMEMBERS', wsHead .. a .. wsTail)) do redis.call('HDEL', uHead .. uid .. uTail .. sAccess, a) end
      redis.call('DEL', wsHead .. a .. wsTail)
    end
    applied = applied + 1
  end
end
redis.call('SET', offsetKey, nextOffset)
return { 'applied', applied }
`;

/** One users.events record as a script operation (see APPLY_USERS_EVENTS). */
export type UsersOperation =
  | { op: 'D'; offset: bigint; userId: number }
  | { op: 'A'; offset: bigint; userId: number; version: number; workspaces: { workspaceId: number; name: string; role: string }[] }
  | { op: 'R'; offset: bigint; workspaceId: number; name: string; version: number | undefined }
  | { op: 'W'; offset: bigint; workspaceId: number };

export type UsersApplyOutcome =
  | { kind: 'applied'; applied: number }
  | { kind: 'behind'; stored: bigint | null }
  | { kind: 'lost' }
  | { kind: 'foreign'; found: string };

type ScriptRedis = RedisClient & { applyUsersEvents(...args: string[]): Promise<[string, string | number]> };

/** A template `head NUL tail` around the id of a key built by `key`. */
const template = (key: (id: string) => string) => key('\0');

export class UsersEventsScript {
  private readonly redis: ScriptRedis;
  private readonly fixed: string[];

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly live: LiveMode,
  ) {
    redis.defineCommand('applyUsersEvents', { numberOfKeys: 0, lua: APPLY_USERS_EVENTS });
    this.redis = redis as ScriptRedis;
    const user = ProjectionKeys.user(prefix, 0);
    const suffix = (key: (p: string, id: number) => string) => key(prefix, 0).slice(user.length);
    this.fixed = [
      template((id) => ProjectionKeys.user(prefix, id)),
      template((id) => ProjectionKeys.workspaceMembers(prefix, id)),
      template((id) => ProjectionKeys.liveChannel(prefix, id)),
      suffix(ProjectionKeys.stats), suffix(ProjectionKeys.feed), suffix(ProjectionKeys.log), suffix(ProjectionKeys.seen), suffix(ProjectionKeys.access), suffix(ProjectionKeys.accessVersion),
      StatsField.deleted,
      template((id) => ProjectionKeys.workspaceVersion(prefix, id)),
    ];
  }

  async apply(range: RecordRange, operations: UsersOperation[]): Promise<UsersApplyOutcome> {
    const args = [
      ProjectionKeys.layout(this.prefix),
      ProjectionKeys.offset(this.prefix, range.topic, range.partition),
      PROJECTION_LAYOUT_VERSION,
      String(range.first),
      String(range.last),
      range.fromLogStart ? '1' : '0',
      this.live,
      ...this.fixed,
      String(range.last + 1n),
    ];
    for (const o of operations) {
      if (o.op === 'D') args.push('D', String(o.offset), String(o.userId), JSON.stringify({ type: 'deleted', userId: o.userId } satisfies LiveNotice), '');
      else if (o.op === 'A') args.push('A', String(o.offset), String(o.userId), String(o.version), JSON.stringify(o.workspaces));
      else if (o.op === 'R') args.push('R', String(o.offset), String(o.workspaceId), o.name, o.version === undefined ? '' : String(o.version));
      else args.push('W', String(o.offset), String(o.workspaceId), '', '');
    }
    const [kind, detail] = await this.redis.applyUsersEvents(...args);
    if (kind === 'applied') return { kind, applied: Number(detail) };
    if (kind === 'behind') return { kind, stored: detail === '' ? null : BigInt(detail) };
    if (kind === 'lost') return { kind };
    return { kind: 'foreign', found: String(detail) };
  }
}
