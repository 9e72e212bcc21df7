import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EVENT_TIME_WINDOW } from '@suite/contracts';
import { createLogger } from '@suite/logger';
import { Projector } from './projector.js';

/** A projector whose stores accept everything (and count the activity chunks), to watch what it reports and asks for. */
function projector(
  registry: Registry,
  seams: { router?: unknown; refetches?: [number, bigint][]; chunks?: number[] } = {},
) {
  const applied = { kind: 'applied', applied: 0, duplicates: 0, dropped: 0, stale: 0 } as const;
  return new Projector(
    {
      apply: async (_: unknown, writes: unknown[]) => (seams.chunks?.push(writes.length), applied),
    } as never,
    { apply: async () => ({ kind: 'applied', applied: 0 }) } as never,
    { apply: async () => applied } as never,
    {
      applied: () => undefined,
      assigned: async () => [],
      refetch: async (p: { partition: number }, offset: bigint) =>
        seams.refetches?.push([p.partition, offset]),
    } as never,
    { connect: async () => undefined, send: async () => undefined } as never,
    createLogger({ service: 'test', version: '0', level: 'silent' }),
    registry,
    {
      topicPrefix: '',
      timeWindow: DEFAULT_EVENT_TIME_WINDOW,
      usersEventsKeys: ['k'.repeat(32)],
      usersEventsUnsignedBefore: new Map(),
      ...(seams.router ? { router: seams.router as never } : {}),
    },
  );
}

const lagSeries = async (registry: Registry) =>
  (await registry.getSingleMetric('kafka_consumer_lag')!.get()).values.map(
    (v) => `${v.labels.topic}:${v.labels.partition}=${v.value}`,
  );

describe('the consumer lag gauge', () => {
  it('when a partition moves away in a rebalance, then its lag stops being reported here', async () => {
    const registry = new Registry();
    const p = projector(registry);
    const batch = (partition: number) => ({
      topic: 'activity.events',
      partition,
      highWatermark: '10',
      firstOffset: '3',
      lastOffset: '3',
      records: [{ offset: '3', key: null, value: null, timestamp: '0', headers: {} }],
    });
    await p.onBatch(batch(0));
    await p.onBatch(batch(1));
    expect(await lagSeries(registry)).toEqual(['activity.events:0=6', 'activity.events:1=6']);
    await p.onAssigned([{ topic: 'activity.events', partition: 1 }]);
    await p.onBatch(batch(1));
    expect(await lagSeries(registry)).toEqual(['activity.events:1=6']);
  });
});

describe('routing in the projection consumer', () => {
  const event = (i: number, notify?: number[]) =>
    Buffer.from(
      JSON.stringify({
        specversion: '1.0',
        id: `e${i}`,
        source: '/test',
        type: 'io.activitysuite.activity.recorded',
        time: new Date().toISOString(),
        subject: '1',
        data: {
          actorId: 1,
          verb: 'commented',
          object: { type: 'doc', id: String(i) },
          workspaceId: 7,
          ...(notify ? { notify: { users: notify } } : {}),
        },
      }),
    );
  const batch = {
    topic: 'activity.events',
    partition: 2,
    highWatermark: '20',
    firstOffset: '10',
    lastOffset: '12',
    records: [10, 11, 12].map((o) => ({
      offset: String(o),
      key: null,
      value: event(o, o === 11 ? [5, 6] : undefined),
      timestamp: String(Date.now()),
      headers: {},
    })),
  };
  /** A router that answers `plan` with `kind` and records what it is asked. */
  const router = (plan: object) => {
    const calls: unknown[] = [];
    return {
      calls,
      plan: async (...args: unknown[]) => (calls.push(['plan', ...args]), plan),
      route: async (partition: number, last: bigint, notifying: { offset: bigint }[]) =>
        calls.push(['route', partition, last, notifying.map((n) => n.offset)]),
      passed: () => undefined,
    };
  };

  it('when the router says route, then the batch is applied and then routed with the activities that name recipients, up to its last offset', async () => {
    const r = router({ kind: 'route' });
    const chunks: number[] = [];
    await projector(new Registry(), { router: r, chunks }).onBatch(batch);
    expect(chunks).toEqual([3]);
    expect(r.calls).toEqual([
      ['plan', 2, 10n, 12n],
      ['route', 2, 12n, [11n]],
    ]);
  });

  it('when the router says wait (the access replica is not whole), then nothing is applied and the batch is fetched again from its first offset', async () => {
    const r = router({ kind: 'wait' });
    const chunks: number[] = [];
    const refetches: [number, bigint][] = [];
    await projector(new Registry(), { router: r, chunks, refetches }).onBatch(batch);
    expect(chunks).toEqual([]);
    expect(refetches).toEqual([[2, 10n]]);
    expect(r.calls).toHaveLength(1);
  });

  it('when the router says seek (the batch starts after its position), then nothing is applied and the partition is fetched again from that position', async () => {
    const r = router({ kind: 'seek', offset: 7n });
    const chunks: number[] = [];
    const refetches: [number, bigint][] = [];
    await projector(new Registry(), { router: r, chunks, refetches }).onBatch(batch);
    expect(chunks).toEqual([]);
    expect(refetches).toEqual([[2, 7n]]);
  });

  it('when the router says skip (all routed already), then the batch is applied and nothing is routed', async () => {
    const r = router({ kind: 'skip' });
    const chunks: number[] = [];
    await projector(new Registry(), { router: r, chunks }).onBatch(batch);
    expect(chunks).toEqual([3]);
    expect(r.calls).toEqual([['plan', 2, 10n, 12n]]);
  });
});
