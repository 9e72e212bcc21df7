import { describe, expect, it } from 'vitest';
import { LIVE_ENTRY_SEPARATOR, encodeCursor, feedEntry } from '@suite/contracts';
import type { Hub } from './hub.js';
import { LiveMessage } from './live-message.js';
import type { FeedReader } from './replay.js';
import { StreamSession, type Transport } from './stream-session.js';

const entry = (n: number) => feedEntry(`00000000000000${n}:e${n}`, `{"id":"e${n}"}`);
const live = (...ns: number[]) => LiveMessage.fromChannel(ns.map(entry).join(LIVE_ENTRY_SEPARATOR)).messages;

describe('stream session resume', () => {
  it('skips a replayed activity whose live message arrives after the replay finished (it was on the subscriber connection)', async () => {
    const sent: LiveMessage[] = [];
    const transport: Transport = { send: (m) => sent.push(m), bufferedBytes: () => 0, close: () => undefined };
    // Activities 2 and 3 are in Redis when the replay reads; their live message is still in flight
    // and lands on the next turn of the event loop, after the replay has returned.
    let inFlight: Promise<void> = Promise.resolve();
    const feed = {
      isTooOld: async () => false,
      forEachAfter: async (_user: number, _after: string | undefined, each: (member: string, json: string) => void) => {
        each('000000000000002:e2', '{"id":"e2"}');
        each('000000000000003:e3', '{"id":"e3"}');
        inFlight = new Promise((resolve) => setTimeout(() => {
          for (const m of live(2, 3)) session.deliver(m);
          resolve();
        }, 5));
      },
    } as unknown as FeedReader;
    const hub = { add: async () => undefined, remove: () => undefined, drained: () => inFlight } as unknown as Hub;
    const session: StreamSession = new StreamSession(7, transport, hub, feed, { highWaterMark: 1 << 20, onSlowClient: () => undefined });
    await session.open(encodeCursor('000000000000001:e1'));
    await new Promise((r) => setTimeout(r, 20));
    for (const m of live(4)) session.deliver(m);
    const activities = sent.filter((m) => m.type === 'activity').map((m) => JSON.parse(m.raw).activity.id);
    expect(activities).toEqual(['e2', 'e3', 'e4']);
    expect(sent.map((m) => m.type)).toEqual(['activity', 'activity', 'ready', 'activity']);
  });
});
