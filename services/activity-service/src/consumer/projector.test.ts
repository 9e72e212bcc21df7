import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EVENT_TIME_WINDOW } from '@suite/contracts';
import { createLogger } from '@suite/logger';
import { Projector } from './projector.js';

/** A projector whose stores accept everything, to watch what it reports. */
function projector(registry: Registry) {
  const applied = { kind: 'applied', applied: 0, duplicates: 0, dropped: 0, stale: 0 } as const;
  return new Projector(
    { apply: async () => applied } as never,
    { apply: async () => ({ kind: 'applied', applied: 0 }) } as never,
    { apply: async () => applied } as never,
    { applied: () => undefined, assigned: async () => [] } as never,
    { connect: async () => undefined, send: async () => undefined } as never,
    createLogger({ service: 'test', version: '0', level: 'silent' }),
    registry,
    {
      topicPrefix: '',
      timeWindow: DEFAULT_EVENT_TIME_WINDOW,
      usersEventsKeys: ['k'.repeat(32)],
      usersEventsUnsignedBefore: new Map(),
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
