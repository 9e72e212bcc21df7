import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { LIVE_ENTRY_SEPARATOR, LIVE_TRACE_SEPARATOR, decodeCursor, feedEntry } from '@suite/contracts';
import { LiveMessage, textFrame } from './live-message.js';

// ws ships its frame parser but @types/ws does not declare it.
const { Receiver } = createRequire(import.meta.url)('ws') as { Receiver: new (options: { isServer: boolean }) => Writable };

/** Parses frames with ws's own receiver (client side: frames from a server are unmasked). */
function receive(frames: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false });
    receiver.on('message', (data: Buffer) => resolve(data.toString()));
    receiver.on('error', reject);
    receiver.write(Buffer.concat(frames));
  });
}

describe('text frames', () => {
  it('are valid RFC 6455 frames at each length encoding', async () => {
    for (const size of [0, 125, 126, 65_535, 65_536, 200_000]) {
      const text = 'x'.repeat(size);
      expect(await receive(textFrame(Buffer.from(text)))).toBe(text);
    }
  });

  it('are built once per message and shared by every connection', () => {
    const message = LiveMessage.fromChannel('{"type":"deleted","userId":7}').messages[0]!;
    expect(message.wsFrame()).toBe(message.wsFrame());
    expect(message.wsFrame().equals(Buffer.concat(textFrame(Buffer.from(message.raw))))).toBe(true);
    expect(message.sseEvent()).toBe('event: deleted\ndata: {"type":"deleted","userId":7}\n\n');
  });

  it('decode a channel message of several feed entries into activity messages with cursors, skipping what is not ours', () => {
    const a = feedEntry('000000000000001:a', '{"id":"a"}');
    const b = feedEntry('000000000000002:b', '{"id":"b"}');
    const { messages, malformed } = LiveMessage.fromChannel([a, 'nonsense', b].join(LIVE_ENTRY_SEPARATOR));
    expect(malformed).toBe(1);
    expect(messages.map((m) => [m.type, m.cursor && decodeCursor(m.cursor)])).toEqual([['activity', '000000000000001:a'], ['activity', '000000000000002:b']]);
    expect(JSON.parse(messages[1]!.raw)).toEqual({ type: 'activity', cursor: messages[1]!.cursor, activity: { id: 'b' } });
    expect(messages[0]!.sseEvent()).toBe(`id: ${messages[0]!.cursor}\nevent: activity\ndata: ${messages[0]!.raw}\n\n`);
    expect(LiveMessage.fromChannel('{"type":"nonsense"}')).toEqual({ messages: [], malformed: 1 });
  });

  it('carry the traceparent an entry was published with, and reject anything else before an entry', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const entry = feedEntry('000000000000001:a', '{"id":"a"}');
    const { messages, malformed } = LiveMessage.fromChannel([`${tp}${LIVE_TRACE_SEPARATOR}${entry}`, `junk${LIVE_TRACE_SEPARATOR}${entry}`, entry].join(LIVE_ENTRY_SEPARATOR));
    expect(malformed).toBe(1);
    expect(messages.map((m) => m.traceparent)).toEqual([tp, undefined]);
    expect(messages[0]!.raw).toBe(messages[1]!.raw);
  });
});
