import { randomUUID } from 'node:crypto';
import { isCluster, primaries, type RedisClient } from '@suite/redis';
import {
  FEED_BLOCK_SIZE,
  PART_KEY_LUA,
  PROJECTION_LAYOUT_VERSION,
  ProjectionKeys,
  SEEN_BUCKETS,
  SLOTS,
  StatsField,
  formatLayout,
  newGeneration,
  parseLayout,
} from '@suite/contracts';

/**
 * Claims an empty prefix: the layout with a new generation, and the offsets the projections must
 * reach before they are whole (none when the log is empty). KEYS: layout, rebuild. ARGV: layout
 * value, then offset key / target pairs. Returns 0 when another process claimed first.
 */
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if #ARGV > 1 then redis.call('HSET', KEYS[2], unpack(ARGV, 2)) end
return 1
`;

/**
 * While rebuilding: the records still to apply before every target is reached; at 0 the marker is
 * removed in the same step (so a claim racing it cannot lose its targets). -1: not rebuilding.
 * Second, what the access topic's partitions still lack. KEYS: rebuild. ARGV: the prefix of the
 * access topic's checkpoint keys ('' for none).
 */
const REBUILD_REMAINING = `
local t = redis.call('HGETALL', KEYS[1])
if #t == 0 then return { -1, 0 } end
local remaining, access = 0, 0
for i = 1, #t, 2 do
  local stored = tonumber(redis.call('GET', t[i]) or '0')
  local target = tonumber(t[i + 1])
  if stored < target then
    remaining = remaining + (target - stored)
    if ARGV[1] ~= '' and string.sub(t[i], 1, #ARGV[1]) == ARGV[1] then access = access + (target - stored) end
  end
end
if remaining == 0 then redis.call('DEL', KEYS[1]) end
return { remaining, access }
`;

/**
 * Moves a partition's checkpoint past records that carry no data (transaction markers, aborted
 * records), only when it stands inside them. KEYS: offset. ARGV: first, next. 1 when it moved.
 */
const PASS_OFFSET = `
local stored = tonumber(redis.call('GET', KEYS[1]) or '0')
if stored < tonumber(ARGV[1]) or stored >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

/** KEYS: lock. ARGV: owner, lease ms. Extends the lease only while `owner` holds it; 1 when it did. */
const RENEW_LOCK = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`;

/** KEYS: lock. ARGV: owner. Releases the lock only if `owner` still holds it. */
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

/** What the projections under the prefix are, as far as this version can tell. */
export type ProjectionCondition =
  | { state: 'ready'; generation: string }
  /** `accessWhole`: the access replica (users.events) has reached its targets, whatever the activities still lack. */
  | { state: 'rebuilding'; generation: string; remaining: number; accessWhole: boolean }
  | { state: 'lost' }
  | { state: 'foreign'; found: string };

/** Lua string literal of a constant from the contracts (ASCII without quotes or backslashes). */
export const luaString = (text: string) =>
  `'${[...text].map((c) => (c === '\\' || c === "'" ? `\\${c}` : c.charCodeAt(0) < 32 ? `\\${c.charCodeAt(0)}` : c)).join('')}'`;

/**
 * Lua that deletes a user's feed blocks and dedup buckets (`ProjectionKeys.feedBlock`, `seenBucket`):
 * `dropFeedAndSeen(feed, seen, log, stats)` with those keys' base names. The blocks are those of the
 * positions the log holds.
 */
export const DROP_FEED_AND_SEEN = `${PART_KEY_LUA}
local function dropFeedAndSeen(feed, seen, log, stats)
  local seq = tonumber(redis.call('HGET', stats, ${luaString(StatsField.position)}) or '0')
  local oldest = seq - redis.call('LLEN', log) + 1
  for b = math.floor(oldest / ${FEED_BLOCK_SIZE}), math.floor(seq / ${FEED_BLOCK_SIZE}) do redis.call('DEL', partKey(feed, b)) end
  for b = 0, ${SEEN_BUCKETS - 1} do redis.call('DEL', partKey(seen, b)) end
end
`;

/**
 * Every step's script starts here: KEYS[1] is the step's marker (`stepMarker`), ARGV[1] the layout
 * value the step was decided under. A missing marker, or one of this layout's another generation,
 * stops the step with `lost`; another layout's with `foreign`.
 */
export const STEP_MARKED = `
local marker = redis.call('GET', KEYS[1])
if marker ~= ARGV[1] then
  if marker and string.sub(marker, 1, ${PROJECTION_LAYOUT_VERSION.length + 1}) ~= '${PROJECTION_LAYOUT_VERSION}:' then return { 'foreign', marker } end
  return { 'lost' }
end
`;

/**
 * Whether anyone subscribes to a step's live channel, by name (`SUBSCRIBE`, or `SSUBSCRIBE` when
 * the mode is `spublish`): a publish nobody receives is skipped, and so is building its message.
 * Exactly what the publish would do, since the script runs atomically: a gateway subscribed before
 * the step receives it, one subscribing after reads it from the log when it replays. Pattern
 * subscriptions (`PSUBSCRIBE`) are not counted: the live channels are for subscribers by name.
 */
export const LIVE_LISTENED_LUA = `local function listened(mode, channel)
  return tonumber(redis.call('PUBSUB', mode == 'spublish' and 'SHARDNUMSUB' or 'NUMSUB', channel)[2]) > 0
end
`;

/**
 * The key a step in `slot` checks before it writes: on a cluster the slot's own marker (one per
 * slot, so a primary that restarted empty is noticed in its slots); on one Redis the layout key
 * itself (one server keeps all of it or loses all of it), so no marker is written there.
 */
export function stepMarker(redis: RedisClient, prefix: string, slot: number): string {
  return isCluster(redis) ? ProjectionKeys.slotMarker(prefix, slot) : ProjectionKeys.layout(prefix);
}

/** The projections are in a layout this version does not write. */
/** Why a chunk may not be applied: the projections are gone, another layout owns the prefix, or Redis is behind the consumer. */
export type ChunkRefusal =
  { kind: 'lost' } | { kind: 'foreign'; found: string } | { kind: 'behind'; stored: bigint | null };

/**
 * The check every chunk starts with (activity records and users.events alike), in the
 * `{projections}` slot: the layout must be this version's and the partition's checkpoint inside the
 * chunk's range. Answers the refusal, or the layout, its generation, the checkpoint (`stored`) and
 * the offset after the chunk.
 */
export async function checkChunk(
  redis: RedisClient,
  prefix: string,
  range: { topic: string; partition: number; first: bigint; last: bigint; fromLogStart: boolean },
): Promise<
  | ChunkRefusal
  | { kind: 'open'; layout: string; generation: string; stored: bigint | null; next: bigint }
> {
  const [layout, storedText] = await Promise.all([
    redis.get(ProjectionKeys.layout(prefix)),
    redis.get(ProjectionKeys.offset(prefix, range.topic, range.partition)),
  ]);
  if (layout === null) return { kind: 'lost' };
  const { version, generation } = parseLayout(layout);
  if (version !== PROJECTION_LAYOUT_VERSION || generation === undefined)
    return { kind: 'foreign', found: layout };
  const stored = storedText === null ? null : BigInt(storedText);
  if ((stored === null || stored < range.first) && !range.fromLogStart)
    return { kind: 'behind', stored };
  return { kind: 'open', layout, generation, stored, next: range.last + 1n };
}

export class LayoutMismatchError extends Error {
  constructor(found: string) {
    super(
      `the projections under this prefix use layout ${found}; this version reads and writes layout ${PROJECTION_LAYOUT_VERSION}. Rebuild them: stop the consumers, run \`npm run projections:rebuild\` (docs/operations.md)`,
    );
    this.name = 'LayoutMismatchError';
  }
}

type StateRedis = RedisClient & {
  claimLayout(layout: string, rebuild: string, ...args: string[]): Promise<number>;
  rebuildRemaining(rebuild: string, accessOffsets: string): Promise<[number, number]>;
  renewLock(lock: string, owner: string, leaseMs: number): Promise<number>;
  releaseLock(lock: string, owner: string): Promise<number>;
  passOffset(offset: string, first: string, next: string): Promise<number>;
};

/** The layout key, the rebuild marker, stored offsets: where the projections stand as a whole. */
export class ProjectionState {
  private readonly redis: StateRedis;

  constructor(
    redis: RedisClient,
    readonly prefix: string,
    /** The users.events topic (prefixed): while rebuilding, `accessWhole` says whether its partitions reached their targets. */
    private readonly accessTopic = '',
  ) {
    redis.defineCommand('claimLayout', { numberOfKeys: 2, lua: CLAIM });
    redis.defineCommand('rebuildRemaining', { numberOfKeys: 1, lua: REBUILD_REMAINING });
    redis.defineCommand('renewLock', { numberOfKeys: 1, lua: RENEW_LOCK });
    redis.defineCommand('releaseLock', { numberOfKeys: 1, lua: RELEASE_LOCK });
    redis.defineCommand('passOffset', { numberOfKeys: 1, lua: PASS_OFFSET });
    this.redis = redis as StateRedis;
  }

  /** Deletes every projection key under the prefix, on every primary (`dropProjections`); returns how many. */
  drop(): Promise<number> {
    return dropProjections(this.redis, this.prefix);
  }

  /** Reads the layout and the rebuild marker (completing the rebuild when every target is reached). */
  async condition(): Promise<ProjectionCondition> {
    // The checkpoint keys of the access topic's partitions start with this.
    const accessOffsets =
      this.accessTopic === ''
        ? ''
        : ProjectionKeys.offset(this.prefix, this.accessTopic, 0).slice(0, -1);
    const [layout, legacy, [remaining, accessRemaining]] = await Promise.all([
      this.redis.get(ProjectionKeys.layout(this.prefix)),
      this.redis.get(ProjectionKeys.legacyLayout(this.prefix)),
      this.redis.rebuildRemaining(ProjectionKeys.rebuild(this.prefix), accessOffsets),
    ]);
    if (legacy !== null) return { state: 'foreign', found: legacy };
    if (layout === null) return { state: 'lost' };
    const { version, generation } = parseLayout(layout);
    if (version !== PROJECTION_LAYOUT_VERSION || generation === undefined)
      return { state: 'foreign', found: layout };
    return remaining > 0
      ? {
          state: 'rebuilding',
          generation,
          remaining,
          accessWhole: this.accessTopic !== '' && accessRemaining === 0,
        }
      : { state: 'ready', generation };
  }

  /**
   * Claims the prefix for a new generation when it has no layout; `targets` (offset per topic and
   * partition, e.g. the log's end) must be reached before it is whole. Undefined when another
   * process claimed it first.
   */
  async claim(
    targets: { topic: string; partition: number; offset: bigint }[],
  ): Promise<string | undefined> {
    const generation = newGeneration();
    // On a cluster every slot's marker first: a step finds its slot marked from the moment the layout exists.
    if (isCluster(this.redis)) await this.markSlots(formatLayout(generation));
    const args = targets
      .filter((t) => t.offset > 0n)
      .flatMap((t) => [ProjectionKeys.offset(this.prefix, t.topic, t.partition), String(t.offset)]);
    const claimed = await this.redis.claimLayout(
      ProjectionKeys.layout(this.prefix),
      ProjectionKeys.rebuild(this.prefix),
      formatLayout(generation),
      ...args,
    );
    return claimed === 1 ? generation : undefined;
  }

  /** Writes the layout value as every slot's marker (auto-pipelined per primary). */
  private async markSlots(layout: string): Promise<void> {
    const per = 2048;
    for (let from = 0; from < SLOTS; from += per) {
      await Promise.all(
        Array.from({ length: Math.min(per, SLOTS - from) }, (_, i) =>
          this.redis.set(ProjectionKeys.slotMarker(this.prefix, from + i), layout),
        ),
      );
    }
  }

  /** Whether a slot's marker still holds the layout value of `generation` (false: the slot's primary lost it). */
  async slotMarked(slot: number, generation: string): Promise<boolean> {
    return (
      (await this.redis.get(stepMarker(this.redis, this.prefix, slot))) === formatLayout(generation)
    );
  }

  /** Moves the partition's checkpoint to `next` when it stands in `first`..`next` (records without data); true when it moved. */
  async passOffset(
    p: { topic: string; partition: number },
    first: bigint,
    next: bigint,
  ): Promise<boolean> {
    return (
      (await this.redis.passOffset(
        ProjectionKeys.offset(this.prefix, p.topic, p.partition),
        String(first),
        String(next),
      )) === 1
    );
  }

  /** The next offset stored for each partition (null when none). */
  async storedOffsets(
    partitions: { topic: string; partition: number }[],
  ): Promise<(bigint | null)[]> {
    if (partitions.length === 0) return [];
    const values = await this.redis.mget(
      partitions.map((p) => ProjectionKeys.offset(this.prefix, p.topic, p.partition)),
    );
    return values.map((v) => (v === null ? null : BigInt(v)));
  }

  /**
   * Runs `work` while holding the heal lock (one process at a time drops and re-claims lost
   * projections); false when another process holds it. The lock is a lease of `leaseMs`, renewed
   * every third of it while `work` runs: however long a drop takes, a holder that dies (SIGKILL
   * in the middle of a heal) holds back the others for one lease at most, not for the longest
   * heal there could be.
   */
  async whileHealLocked(leaseMs: number, work: () => Promise<void>): Promise<boolean> {
    const key = ProjectionKeys.healLock(this.prefix);
    const owner = randomUUID();
    if ((await this.redis.set(key, owner, 'PX', leaseMs, 'NX')) === null) return false;
    const renewal = setInterval(
      () => void this.redis.renewLock(key, owner, leaseMs).catch(() => undefined),
      Math.max(1, Math.floor(leaseMs / 3)),
    );
    try {
      await work();
    } finally {
      clearInterval(renewal);
      await this.redis.releaseLock(key, owner);
    }
    return true;
  }
}

/** Escapes glob characters, so a prefix matches only itself in SCAN MATCH. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** The glob of every key that starts as `key` builds them, up to its variable part. */
const keysFrom = (key: (id: string) => string) => `${globLiteral(key('\0').split('\0')[0]!)}*`;

/**
 * Deletes every projection key under `prefix` (users, workspaces, slot markers, offsets, layout,
 * rebuild marker, and the whole-projection keys of layouts 1 to 3), scanning every primary of a
 * cluster; returns how many. Keys are unlinked one by one: on a cluster no command may name two slots.
 *
 * The keys a step checks before it writes (the layout, the slot markers) go first, on every node:
 * a step of the old generation still in flight then refuses (`lost`) instead of writing a user
 * again after that user's keys were dropped, which would leave that user's remains under the
 * next generation (its applied offsets skip the replay, its dedup set misses the older ids).
 */
export async function dropProjections(redis: RedisClient, prefix: string): Promise<number> {
  const p = globLiteral(prefix);
  const phases = [
    [
      globLiteral(ProjectionKeys.layout(prefix)),
      globLiteral(ProjectionKeys.legacyLayout(prefix)),
      `${p}{s*`,
    ],
    [
      keysFrom((id) => ProjectionKeys.user(prefix, id)),
      keysFrom((id) => ProjectionKeys.workspaceMembers(prefix, id)),
      keysFrom((id) => ProjectionKeys.offset(prefix, id, 0)),
      globLiteral(ProjectionKeys.rebuild(prefix)),
      `${p}offset:*`,
      `${p}rebuild`,
    ],
  ];
  let dropped = 0;
  for (const patterns of phases) {
    for (const node of primaries(redis)) {
      for (const pattern of patterns) {
        if (!pattern.startsWith(p))
          throw new Error(`projection key pattern ${pattern} is outside the prefix`);
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          const gone = await Promise.all(keys.map((key) => node.unlink(key)));
          dropped += gone.reduce((n, g) => n + g, 0);
        } while (cursor !== '0');
      }
    }
  }
  return dropped;
}
