import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
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
    const message = LiveMessage.fromChannel('{"type":"activity","cursor":"abc","activity":{}}')!;
    expect(message.wsFrame()).toBe(message.wsFrame());
    expect(message.sseEvent()).toBe('id: abc\nevent: activity\ndata: {"type":"activity","cursor":"abc","activity":{}}\n\n');
    expect(LiveMessage.fromChannel('nonsense')).toBeUndefined();
  });
});
