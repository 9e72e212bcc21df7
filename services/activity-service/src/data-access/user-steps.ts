import { ProjectionKeys, formatLayout, userSlot } from '@suite/contracts';
import type { RedisClient } from '@suite/redis';
import type { ApplyOutcome, RecordRange } from './activity.transaction.js';
import { checkChunk } from './projection.state.js';

/** What a user's step script answers: applied with its tallies, or why it wrote nothing. */
export type StepReply =
  ['applied', number, number, number, number] | ['lost'] | ['foreign', string] | ['behind', number];

/** One user's step as the chunk runs it: the user's records, the layout value, the offset after them, the slot's fence. */
export interface UserStep<W> {
  userId: number;
  slot: number;
  group: W[];
  layout: string;
  next: bigint;
  fence: { field: string; expected: bigint };
}

/**
 * Applies a chunk of one partition as one script per user, each in that user's slot (Redis Cluster:
 * no step touches two slots), the way activities and inbox records both are:
 *
 * 1. read the layout and the partition's checkpoint (the `{projections}` slot): is Redis where this
 *    consumer is (layout present and ours, checkpoint inside the range);
 * 2. per user, in parallel, the step's script (the slot's marker present, the user's own applied
 *    offset, the slot's fence: see APPLY_USER);
 * 3. the checkpoint moves past the chunk.
 *
 * A crash between 2 and 3 replays the chunk: every user who had it applied skips it by its own
 * applied offset, so the outcome is exactly once however the steps and the crash interleave.
 */
export class UserSteps {
  /** Per partition (`<topic>:<p>`), per slot: the fence this consumer wrote there last (see APPLY_USER). Bounded by the slot count. */
  private readonly fences = new Map<string, Map<number, bigint>>();

  constructor(
    private readonly redis: RedisClient,
    /** The client's connect(): steps wait for it (a failed start is retried by the client itself). */
    private readonly connected: Promise<unknown>,
    private readonly prefix: string,
  ) {}

  async run<W extends { userId: number; offset: bigint }>(
    range: RecordRange,
    writes: W[],
    step: (s: UserStep<W>) => Promise<StepReply>,
  ): Promise<ApplyOutcome> {
    const { redis, prefix, fences } = this;
    await this.connected;
    const check = await checkChunk(redis, prefix, range);
    if (check.kind !== 'open') return check;
    const { generation, stored, next } = check;
    if (stored !== null && stored >= next)
      return { kind: 'applied', applied: 0, duplicates: 0, dropped: 0, stale: writes.length };

    const field = `${range.topic}:${range.partition}`;
    let known = fences.get(field);
    if (!known) fences.set(field, (known = new Map()));
    const layout = formatLayout(generation);
    const replies = await Promise.all(
      [...groupByUser(writes)].map(async ([userId, group]) => {
        const slot = userSlot(userId);
        // The user's applied offset is the one after their last record here, not the chunk's end: the
        // same however the log is cut into chunks, so a rebuild writes what the live run wrote.
        const upTo = group.at(-1)!.offset + 1n;
        const fence = { field, expected: known.get(slot) ?? 0n };
        const reply = await step({ userId, slot, group, layout, next: upTo, fence });
        if (reply[0] === 'applied' && (known.get(slot) ?? 0n) < upTo) known.set(slot, upTo);
        return { slot, reply };
      }),
    );
    const outcome = tally(replies, generation);
    if (outcome.kind === 'behind') fences.delete(field);
    if (outcome.kind !== 'applied') return outcome;
    // Only forward: a consumer that lost the partition in a rebalance must not move it back.
    if (stored === null || stored < next)
      await redis.set(ProjectionKeys.offset(prefix, range.topic, range.partition), String(next));
    return outcome;
  }
}

function groupByUser<W extends { userId: number }>(writes: W[]): Map<number, W[]> {
  const groups = new Map<number, W[]>();
  for (const w of writes) {
    const group = groups.get(w.userId);
    if (group) group.push(w);
    else groups.set(w.userId, [w]);
  }
  return groups;
}

/**
 * The chunk's outcome from its users' replies: a foreign layout first, then a lost slot, then the
 * lowest offset a slot is behind at (what this consumer remembers of the partition's slots no longer
 * holds: the caller forgets its fences and learns them again), else the applied tallies summed.
 */
function tally(replies: { slot: number; reply: StepReply }[], generation: string): ApplyOutcome {
  const counts = { applied: 0, duplicates: 0, dropped: 0, stale: 0 };
  let lost: number | undefined;
  let foreign: string | undefined;
  let behind: bigint | undefined;
  for (const { slot, reply } of replies) {
    if (reply[0] === 'lost') lost = slot;
    else if (reply[0] === 'foreign') foreign = reply[1];
    else if (reply[0] === 'behind')
      behind = behind === undefined || BigInt(reply[1]) < behind ? BigInt(reply[1]) : behind;
    else {
      counts.applied += reply[1];
      counts.duplicates += reply[2];
      counts.dropped += reply[3];
      counts.stale += reply[4];
    }
  }
  if (foreign !== undefined) return { kind: 'foreign', found: foreign };
  if (lost !== undefined) return { kind: 'lost', slot: { slot: lost, generation } };
  // A slot without a fence lost the partition's progress there altogether (as a missing checkpoint).
  if (behind !== undefined) return { kind: 'behind', stored: behind === 0n ? null : behind };
  return { kind: 'applied', ...counts };
}
