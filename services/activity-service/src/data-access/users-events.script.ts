import {
  ProjectionKeys,
  StatsField,
  inboxKeys,
  slotOf,
  userSlot,
  type LiveNotice,
} from '@suite/contracts';
import type { RedisClient } from '@suite/redis';
import { DROP_FEED_AND_SEEN, STEP_MARKED, checkChunk, stepMarker } from './projection.state.js';
import type { LiveMode, RecordRange } from './activity.transaction.js';

/**
 * User deleted. KEYS: marker, stats, feed, log, seen, access, accessv (feed and seen: the base names
 * of the blocks and buckets), then the inbox's keys. ARGV: layout, tombstone field, live mode,
 * channel, notice.
 */
const FORGET_USER = `${STEP_MARKED}${DROP_FEED_AND_SEEN}
dropFeedAndSeen(KEYS[3], KEYS[5], KEYS[4], KEYS[2])
redis.call('DEL', KEYS[4], KEYS[6], KEYS[7], KEYS[2])
redis.call('DEL', unpack(KEYS, 8))
redis.call('HSET', KEYS[2], ARGV[2], '1')
if ARGV[3] ~= 'off' then redis.call(ARGV[3] == 'spublish' and 'SPUBLISH' or 'PUBLISH', ARGV[4], ARGV[5]) end
return { 'ok' }
`;

/**
 * Access changed: the replica replaced when the version is newer and the user not deleted.
 * KEYS: marker, stats, access, accessv. ARGV: layout, tombstone field, version, then workspace /
 * entry JSON pairs. Returns the workspaces the replica held before, then `|`, then those it holds now.
 */
const REPLACE_ACCESS = `${STEP_MARKED}
local before = redis.call('HKEYS', KEYS[3])
local current = tonumber(redis.call('GET', KEYS[4]) or '-1')
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 and tonumber(ARGV[3]) > current then
  redis.call('DEL', KEYS[3])
  if #ARGV > 3 then redis.call('HSET', KEYS[3], unpack(ARGV, 4)) end
  redis.call('SET', KEYS[4], ARGV[3])
end
local reply = { 'ok' }
for _, ws in ipairs(before) do reply[#reply + 1] = ws end
reply[#reply + 1] = '|'
for _, ws in ipairs(redis.call('HKEYS', KEYS[3])) do reply[#reply + 1] = ws end
return reply
`;

/**
 * Workspace renamed: whether the members' replicas take the name. KEYS: marker, version. ARGV:
 * layout, version ('' on records from before versions). The newest applied version is applied
 * again (a replay after a crash between this step and the members'); an older one is not.
 */
const RENAME_WORKSPACE = `${STEP_MARKED}
local newest = tonumber(redis.call('GET', KEYS[2]) or '-1')
local version = ARGV[2] ~= '' and tonumber(ARGV[2]) or nil
if version and version >= newest then
  redis.call('SET', KEYS[2], ARGV[2])
  return { 'ok' }
end
if not version and newest < 0 then return { 'ok' } end
return { 'skip' }
`;

/** One member's replica entry renamed (the role kept). KEYS: marker, access. ARGV: layout, workspace, name. */
const RENAME_ENTRY = `${STEP_MARKED}
local entry = redis.call('HGET', KEYS[2], ARGV[2])
if entry then redis.call('HSET', KEYS[2], ARGV[2], cjson.encode({ name = ARGV[3], role = cjson.decode(entry)['role'] })) end
return { 'ok' }
`;

/** One member's replica entry removed (workspace deleted). KEYS: marker, access. ARGV: layout, workspace. */
const DROP_ENTRY = `${STEP_MARKED}
redis.call('HDEL', KEYS[2], ARGV[2])
return { 'ok' }
`;

/** Members of a workspace asked for per SSCAN page (and stepped in parallel) by a rename or deletion. */
const MEMBERS_PER_PAGE = 1000;

/** One users.events record as an operation. */
export type UsersOperation =
  | { op: 'D'; offset: bigint; userId: number }
  | {
      op: 'A';
      offset: bigint;
      userId: number;
      version: number;
      workspaces: { workspaceId: number; name: string; role: string }[];
    }
  | { op: 'R'; offset: bigint; workspaceId: number; name: string; version: number | undefined }
  | { op: 'W'; offset: bigint; workspaceId: number };

export type UsersApplyOutcome =
  | { kind: 'applied'; applied: number }
  | { kind: 'behind'; stored: bigint | null }
  | { kind: 'lost'; slot?: { slot: number; generation: string } }
  | { kind: 'foreign'; found: string };

type StepReply = string[];
type StepRedis = RedisClient & {
  forgetUser(...args: string[]): Promise<StepReply>;
  replaceAccess(...args: string[]): Promise<StepReply>;
  renameWorkspace(...args: string[]): Promise<StepReply>;
  renameEntry(...args: string[]): Promise<StepReply>;
  dropEntry(...args: string[]): Promise<StepReply>;
};

/** A step found its slot unmarked, or marked by another layout. */
class StepRefused extends Error {
  constructor(
    readonly reply: StepReply,
    readonly slot: number,
  ) {
    super(`step refused: ${reply.join(' ')}`);
  }
}

/**
 * Applies a chunk of users.events records, each as steps of one slot each: a user's keys in the
 * user's slot, a workspace's in the workspace's (Redis Cluster: no step touches two slots), in
 * record order. Users events are few; one that reaches many keys (a workspace rename reaches every
 * member) is one step per member. Every step can run again after a crash and leave the same
 * result (renames by version, access by version, deletions by tombstone), so the chunk moves the
 * partition's checkpoint once its steps are all done, and a replay repeats them harmlessly.
 */
export class UsersEventsScript {
  private readonly redis: StepRedis;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly live: LiveMode,
  ) {
    redis.defineCommand('forgetUser', { numberOfKeys: 14, lua: FORGET_USER });
    redis.defineCommand('replaceAccess', { numberOfKeys: 4, lua: REPLACE_ACCESS });
    redis.defineCommand('renameWorkspace', { numberOfKeys: 2, lua: RENAME_WORKSPACE });
    redis.defineCommand('renameEntry', { numberOfKeys: 2, lua: RENAME_ENTRY });
    redis.defineCommand('dropEntry', { numberOfKeys: 2, lua: DROP_ENTRY });
    this.redis = redis as StepRedis;
  }

  async apply(range: RecordRange, operations: UsersOperation[]): Promise<UsersApplyOutcome> {
    const offsetKey = ProjectionKeys.offset(this.prefix, range.topic, range.partition);
    const check = await checkChunk(this.redis, this.prefix, range);
    if (check.kind !== 'open') return check;
    const { layout, generation, stored, next } = check;
    const start = stored !== null && stored > range.first ? stored : range.first;
    let applied = 0;
    try {
      for (const o of operations) {
        if (o.offset < start) continue;
        await this.operation(o, layout);
        applied++;
      }
    } catch (err) {
      if (!(err instanceof StepRefused)) throw err;
      if (err.reply[0] === 'foreign') return { kind: 'foreign', found: err.reply[1]! };
      return { kind: 'lost', slot: { slot: err.slot, generation } };
    }
    if (stored === null || stored < next) await this.redis.set(offsetKey, String(next));
    return { kind: 'applied', applied };
  }

  /** Runs one step; a refused step throws. */
  private async step(run: Promise<StepReply>, slot: number): Promise<StepReply> {
    const reply = await run;
    if (reply[0] === 'lost' || reply[0] === 'foreign') throw new StepRefused(reply, slot);
    return reply;
  }

  /**
   * Runs `step` for every member of a workspace, a page of SSCAN at a time with the page's steps in
   * parallel (each is one member's, and may run twice): a workspace of 100,000 members costs about
   * 100 round trips, not 100,000 in a row, and never one reply the size of the whole set.
   */
  private async forEachMember(
    workspaceId: number,
    step: (userId: string) => Promise<unknown>,
  ): Promise<void> {
    const key = ProjectionKeys.workspaceMembers(this.prefix, workspaceId);
    let cursor = '0';
    do {
      const [next, page] = await this.redis.sscan(key, cursor, 'COUNT', MEMBERS_PER_PAGE);
      cursor = next;
      await Promise.all(page.map(step));
    } while (cursor !== '0');
  }

  private async operation(o: UsersOperation, layout: string): Promise<void> {
    if (o.op === 'D') await this.deleteUser(o.userId, layout);
    else if (o.op === 'A') await this.replaceAccess(o, layout);
    else if (o.op === 'R') await this.renameWorkspace(o, layout);
    else await this.deleteWorkspace(o.workspaceId, layout);
  }

  /** One step in the user's slot, its marker read first. */
  private userStep(userId: number, run: (marker: string) => Promise<StepReply>) {
    const slot = userSlot(userId);
    return this.step(run(stepMarker(this.redis, this.prefix, slot)), slot);
  }

  /** One step in the slot of the workspace's member set. */
  private workspaceStep(workspaceId: number, run: (marker: string) => Promise<StepReply>) {
    const slot = slotOf(ProjectionKeys.workspaceMembers(this.prefix, workspaceId));
    return this.step(run(stepMarker(this.redis, this.prefix, slot)), slot);
  }

  private async deleteUser(userId: number, layout: string): Promise<void> {
    const [p, r, u] = [this.prefix, this.redis, String(userId)];
    // Out of every workspace's member set first: a replay after a crash finds the replica still there.
    await Promise.all(
      (await r.hkeys(ProjectionKeys.access(p, u))).map((ws) =>
        r.srem(ProjectionKeys.workspaceMembers(p, ws), u),
      ),
    );
    const notice = JSON.stringify({ type: 'deleted', userId } satisfies LiveNotice);
    await this.userStep(userId, (marker) =>
      r.forgetUser(
        marker,
        ProjectionKeys.stats(p, u),
        ProjectionKeys.feed(p, u),
        ProjectionKeys.log(p, u),
        ProjectionKeys.seen(p, u),
        ProjectionKeys.access(p, u),
        ProjectionKeys.accessVersion(p, u),
        ...inboxKeys(p, u),
        layout,
        StatsField.deleted,
        this.live,
        ProjectionKeys.liveChannel(p, u),
        notice,
      ),
    );
  }

  private async replaceAccess(o: UsersOperation & { op: 'A' }, layout: string): Promise<void> {
    const [p, r, u] = [this.prefix, this.redis, String(o.userId)];
    const entries = o.workspaces.flatMap((w) => [
      String(w.workspaceId),
      JSON.stringify({ name: w.name, role: w.role }),
    ]);
    const reply = await this.userStep(o.userId, (marker) =>
      r.replaceAccess(
        marker,
        ProjectionKeys.stats(p, u),
        ProjectionKeys.access(p, u),
        ProjectionKeys.accessVersion(p, u),
        layout,
        StatsField.deleted,
        String(o.version),
        ...entries,
      ),
    );
    const bar = reply.indexOf('|');
    const now = reply.slice(bar + 1);
    // Every workspace the replica holds names the user (again, on a replay); those it lost do not.
    const gone = reply.slice(1, bar).filter((ws) => !now.includes(ws));
    await Promise.all([
      ...gone.map((ws) => r.srem(ProjectionKeys.workspaceMembers(p, ws), u)),
      ...now.map((ws) => r.sadd(ProjectionKeys.workspaceMembers(p, ws), u)),
    ]);
  }

  private async renameWorkspace(o: UsersOperation & { op: 'R' }, layout: string): Promise<void> {
    const [p, r] = [this.prefix, this.redis];
    const version = o.version === undefined ? '' : String(o.version);
    const reply = await this.workspaceStep(o.workspaceId, (marker) =>
      r.renameWorkspace(marker, ProjectionKeys.workspaceVersion(p, o.workspaceId), layout, version),
    );
    if (reply[0] !== 'ok') return;
    await this.forEachMember(o.workspaceId, (u) =>
      this.userStep(Number(u), (marker) =>
        r.renameEntry(marker, ProjectionKeys.access(p, u), layout, String(o.workspaceId), o.name),
      ),
    );
  }

  private async deleteWorkspace(workspaceId: number, layout: string): Promise<void> {
    const [p, r] = [this.prefix, this.redis];
    // The members' entries first, the member set last: a replay after a crash still finds every member.
    await this.forEachMember(workspaceId, (u) =>
      this.userStep(Number(u), (marker) =>
        r.dropEntry(marker, ProjectionKeys.access(p, u), layout, String(workspaceId)),
      ),
    );
    await r.del(ProjectionKeys.workspaceMembers(p, workspaceId));
  }
}
