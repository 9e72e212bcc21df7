import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_STREAM_CURSOR,
  decodeStreamCursor,
  encodeStreamCursor,
  type StreamPosition,
} from '@suite/contracts';
import type { ProjectionReader, StreamEntry, StreamHead } from '@suite/projection-reader';
import type { Hub } from './hub.js';
import { LiveMessage } from './live-message.js';
import { StreamSession, type Transport } from './stream-session.js';

/**
 * A user's stream as the projection writes it, with the reader's semantics (ProjectionReader's
 * script): positions are contiguous, the log keeps the newest `cap`, a rebuild starts a new epoch.
 */
class World {
  epoch = 'e1';
  seq = 0;
  log: string[] = [];
  /** Live batches published and not yet delivered to the session, in order. */
  live: { epoch: string; messages: LiveMessage[] }[] = [];
  delivered: { epoch: string; messages: LiveMessage[] }[] = [];
  constructor(readonly cap: number) {}

  apply(k: number): void {
    const messages: LiveMessage[] = [];
    for (let i = 0; i < k; i++) {
      this.seq += 1;
      const json = `{"id":"${this.epoch}-${this.seq}"}`;
      this.log.push(json);
      messages.push(LiveMessage.activity(this.epoch, this.seq, json));
    }
    this.log = this.log.slice(-this.cap);
    this.live.push({ epoch: this.epoch, messages });
  }

  rebuild(epoch: string): void {
    this.epoch = epoch;
    this.seq = 0;
    this.log = [];
  }

  read(after: number, limit: number): { head: StreamHead; entries: StreamEntry[] } {
    const oldest = this.seq - this.log.length + 1;
    const from = Math.max(after + 1, oldest);
    const entries =
      from <= this.seq
        ? this.log
            .slice(from - oldest, from - oldest + limit)
            .map((json, i) => ({ position: from + i, json }))
        : [];
    return {
      head: {
        epoch: this.seq === 0 ? null : this.epoch,
        position: this.seq,
        oldest,
        deleted: false,
      },
      entries,
    };
  }
}

/** What the client received (activities carry only an id here). */
type Sent =
  | { type: 'activity'; cursor: string; activity: { id: string } }
  | { type: 'ready'; cursor: string | null }
  | { type: 'reset'; reason: string };

/** A session on a world whose reads complete only when the test says so. */
function harness(world: World) {
  const sent: Sent[] = [];
  const reads: (() => void)[] = [];
  /** The newest position when the first read completed: where a stream opened without a cursor starts. */
  const opened = { at: -1 };
  const transport: Transport = {
    send: (m) => sent.push(JSON.parse(m.raw) as Sent),
    bufferedBytes: () => 0,
    close: () => undefined,
  };
  const reader = {
    streamAfter: (_user: number, after: number, limit: number) =>
      new Promise((resolve) =>
        reads.push(() => {
          if (opened.at < 0) opened.at = world.seq;
          resolve(world.read(after, limit));
        }),
      ),
  } as unknown as ProjectionReader;
  const hub = { add: async () => undefined, remove: () => undefined } as unknown as Hub;
  const session = new StreamSession(7, transport, hub, reader, {
    highWaterMark: 1 << 30,
    onSlowClient: () => undefined,
  });
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    sent,
    opened,
    session,
    reads,
    settle,
    /** Completes pending reads until none is left. */
    async drainReads() {
      for (let guard = 0; guard < 1000; guard++) {
        await settle();
        const next = reads.shift();
        if (!next) return;
        next();
      }
      throw new Error('reads never stopped');
    },
    deliver(batch: { epoch: string; messages: LiveMessage[] }) {
      for (const m of batch.messages) session.offer(batch.epoch, m);
    },
  };
}

/** A session opened at `cursor` on a world holding `before` applied activities (their live messages long gone). */
async function opened(before: number, cursor: StreamPosition | 'empty' | 'stale' | undefined) {
  const world = new World(100);
  world.apply(before);
  world.live = [];
  const h = harness(world);
  const opening = h.session.open(cursor);
  await h.drainReads();
  await opening;
  return { world, h };
}

const activityIds = (sent: Sent[]) =>
  sent.flatMap((m) => (m.type === 'activity' ? [m.activity.id] : []));

type Step =
  | { op: 'apply'; k: number }
  | { op: 'deliver' }
  | { op: 'drop' }
  | { op: 'redeliver' }
  | { op: 'read' }
  | { op: 'resync' };
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('apply' as const), k: fc.integer({ min: 1, max: 5 }) }),
  fc.constant({ op: 'deliver' as const }),
  fc.constant({ op: 'deliver' as const }),
  fc.constant({ op: 'drop' as const }),
  fc.constant({ op: 'redeliver' as const }),
  fc.constant({ op: 'read' as const }),
  fc.constant({ op: 'read' as const }),
  fc.constant({ op: 'resync' as const }),
);

async function run(world: World, h: ReturnType<typeof harness>, steps: Step[]): Promise<void> {
  for (const s of steps) {
    if (s.op === 'apply') world.apply(s.k);
    else if (s.op === 'deliver' || s.op === 'drop') {
      const batch = world.live.shift();
      if (batch && s.op === 'deliver') {
        h.deliver(batch);
        world.delivered.push(batch);
      }
    } else if (s.op === 'redeliver') {
      // The same live batch again, as after Redis went back in time and the consumer re-applied.
      const batch = world.delivered.at(-1);
      if (batch) h.deliver(batch);
    } else if (s.op === 'read') h.reads.shift()?.();
    else h.session.resync();
    await h.settle();
  }
  // Quiesce: everything published arrives, one more batch reveals any lost tail, reads complete.
  for (const batch of world.live.splice(0)) h.deliver(batch);
  world.apply(1);
  await h.drainReads();
  for (const batch of world.live.splice(0)) h.deliver(batch);
  await h.drainReads();
}

describe('stream session: resume by position', () => {
  it('when live messages, losses, redeliveries and log reads interleave at random, then every position after the cursor is delivered once, in order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20 }),
        fc.boolean(),
        fc.array(step, { maxLength: 60 }),
        async (before, withCursor, steps) => {
          const world = new World(10_000);
          world.apply(before);
          world.live = [];
          const cursor = before > 0 && withCursor ? Math.ceil(before / 2) : undefined;
          const h = harness(world);
          const opening = h.session.open(
            cursor === undefined ? undefined : { epoch: 'e1', position: cursor },
          );
          await run(world, h, steps);
          await opening;
          // Without a cursor the stream starts at the newest position when it read the head.
          const from = cursor ?? h.opened.at;
          const expected = Array.from({ length: world.seq - from }, (_, i) => `e1-${from + i + 1}`);
          expect(activityIds(h.sent)).toEqual(expected);
          expect(h.sent.some((m) => m.type === 'reset')).toBe(false);
          expect(h.sent.filter((m) => m.type === 'ready')).toHaveLength(1);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('when the cursor is older than the retained log, a reset comes first, then everything retained, once, in order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 12, max: 40 }),
        fc.array(step, { maxLength: 40 }),
        async (before, steps) => {
          const world = new World(10);
          world.apply(before);
          world.live = [];
          const h = harness(world);
          const opening = h.session.open({ epoch: 'e1', position: 1 });
          await run(world, h, steps);
          await opening;
          expect(h.sent[0]!.type).toBe('reset');
          const got = activityIds(h.sent).map((id) => Number(id.slice(3)));
          // Strictly increasing, no repeats, ending at the newest; any jump follows a reset.
          expect(got.at(-1)).toBe(world.seq);
          let last = 0;
          let resets = 0;
          for (const m of h.sent) {
            if (m.type === 'reset') resets++;
            if (m.type !== 'activity') continue;
            const p = Number(m.activity.id.slice(3));
            expect(p).toBeGreaterThan(last);
            if (p !== last + 1) expect(resets).toBeGreaterThan(0);
            last = p;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('when the projections are rebuilt (a new epoch), then a connected client gets a reset and then the new stream from its start', async () => {
    const { world, h } = await opened(3, { epoch: 'e1', position: 3 });
    world.rebuild('e2');
    world.apply(4);
    // The first live batch of the new epoch is lost; the next one reveals the change.
    world.live.shift();
    world.apply(1);
    h.deliver(world.live.shift()!);
    await h.drainReads();
    expect(h.sent.map((m) => (m.type === 'activity' ? m.activity.id : m.type))).toEqual([
      'ready',
      'reset',
      'e2-1',
      'e2-2',
      'e2-3',
      'e2-4',
      'e2-5',
    ]);
  });

  it('when a cursor is from another epoch or an earlier layout, then a reset comes, then the retained stream', async () => {
    for (const cursor of [{ epoch: 'old', position: 2 } as StreamPosition, 'stale' as const]) {
      const { h } = await opened(2, cursor);
      expect(h.sent.map((m) => (m.type === 'activity' ? m.activity.id : m.type))).toEqual([
        'reset',
        'e1-1',
        'e1-2',
        'ready',
      ]);
      expect(h.sent.at(-1)).toEqual({ type: 'ready', cursor: encodeStreamCursor('e1', 2) });
    }
  });

  it("when a client opened before the user's first activity, then it gets a cursor for it, and resuming from it loses nothing that arrived meanwhile", async () => {
    const first = await opened(0, undefined);
    expect(first.h.sent).toEqual([{ type: 'ready', cursor: EMPTY_STREAM_CURSOR }]);
    expect(decodeStreamCursor(EMPTY_STREAM_CURSOR)).toBe('empty');
    // Three activities arrive while the client reconnects; their live messages never reach it.
    const { h } = await opened(3, 'empty');
    expect(h.sent.map((m) => (m.type === 'activity' ? m.activity.id : m.type))).toEqual([
      'e1-1',
      'e1-2',
      'e1-3',
      'ready',
    ]);
    expect(h.sent.at(-1)).toEqual({ type: 'ready', cursor: encodeStreamCursor('e1', 3) });
  });

  it("when a client's cursor is ahead of the stream (Redis went back in time), then it receives nothing twice while the stream catches up", async () => {
    const { world, h } = await opened(3, { epoch: 'e1', position: 5 });
    world.apply(4);
    h.deliver(world.live.shift()!);
    await h.drainReads();
    expect(activityIds(h.sent)).toEqual(['e1-6', 'e1-7']);
  });
});
