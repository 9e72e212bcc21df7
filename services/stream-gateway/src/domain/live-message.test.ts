import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import {
  LIVE_ENTRY_SEPARATOR,
  LIVE_TRACE_SEPARATOR,
  decodeStreamCursor,
  encodeLiveBatch,
} from '@suite/contracts';
import { LiveMessage, textFrame } from './live-message.js';

// ws ships its frame parser but @types/ws does not declare it.
const { Receiver } = createRequire(import.meta.url)('ws') as {
  Receiver: new (options: { isServer: boolean }) => Writable;
};

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
  it('when a message is framed, then it is a valid RFC 6455 frame at each length encoding', async () => {
    for (const size of [0, 125, 126, 65_535, 65_536, 200_000]) {
      const text = 'x'.repeat(size);
      expect(await receive(textFrame(Buffer.from(text)))).toBe(text);
    }
  });

  it('when a message goes to many connections, then its frame is built once and shared', () => {
    const decoded = LiveMessage.fromChannel('{"type":"deleted","userId":7}');
    if (decoded.kind !== 'deleted') throw new Error('expected a deletion');
    const message = decoded.message;
    expect(message.wsFrame()).toBe(message.wsFrame());
    expect(message.wsFrame().equals(Buffer.concat(textFrame(Buffer.from(message.raw))))).toBe(true);
    expect(message.sseEvent()).toBe('event: deleted\ndata: {"type":"deleted","userId":7}\n\n');
  });

  it('when a live batch is decoded, then it gives activity messages with stream cursors, keeping the positions of items that are not ours', () => {
    const payload = [
      encodeLiveBatch('e1', 41, [{ json: '{"id":"a"}' }]),
      'nonsense',
      '{"id":"b"}',
    ].join(LIVE_ENTRY_SEPARATOR);
    const decoded = LiveMessage.fromChannel(payload);
    if (decoded.kind !== 'batch') throw new Error('expected a batch');
    expect(decoded.malformed).toBe(1);
    expect(
      decoded.messages.map((m) => [m.position, m.cursor && decodeStreamCursor(m.cursor)]),
    ).toEqual([
      [41, { epoch: 'e1', position: 41 }],
      [43, { epoch: 'e1', position: 43 }],
    ]);
    expect(JSON.parse(decoded.messages[1]!.raw)).toEqual({
      type: 'activity',
      cursor: 'e1.43',
      activity: { id: 'b' },
    });
    expect(decoded.messages[0]!.sseEvent()).toBe(
      `id: e1.41\nevent: activity\ndata: ${decoded.messages[0]!.raw}\n\n`,
    );
    expect(LiveMessage.fromChannel('{"type":"nonsense"}')).toEqual({ kind: 'malformed' });
    expect(LiveMessage.fromChannel('no header\x1e{"id":"a"}')).toEqual({ kind: 'malformed' });
  });

  it('when an item was published with a traceparent, then its message carries it, and anything else before an item is rejected', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const item = '{"id":"a"}';
    const decoded = LiveMessage.fromChannel(
      [
        'e1.1',
        `${tp}${LIVE_TRACE_SEPARATOR}${item}`,
        `junk${LIVE_TRACE_SEPARATOR}${item}`,
        item,
      ].join(LIVE_ENTRY_SEPARATOR),
    );
    if (decoded.kind !== 'batch') throw new Error('expected a batch');
    expect(decoded.malformed).toBe(1);
    expect(decoded.messages.map((m) => [m.position, m.traceparent])).toEqual([
      [1, tp],
      [3, undefined],
    ]);
  });
});
