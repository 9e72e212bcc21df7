
import { decodeLiveMessage } from '@suite/contracts';

/**
 * One notice from a user's Redis channel, prepared once for every connection of that user:
 * parsed once (type, cursor), WebSocket-framed once, SSE-encoded once.
 */
export class LiveMessage {
  private frame: Buffer | undefined;
  private sse: string | undefined;

  constructor(
    readonly type: 'activity' | 'deleted' | 'ready' | 'reset' | 'error',
    readonly raw: string,
    readonly cursor: string | undefined,
    /** The W3C trace the activity was published in, when it carried one. */
    readonly traceparent?: string,
  ) {}

  /** The messages of one channel message (see decodeLiveMessage); `malformed` counts those skipped. */
  static fromChannel(payload: string): { messages: LiveMessage[]; malformed: number } {
    const { items, malformed } = decodeLiveMessage(payload);
    return { messages: items.map((item) => new LiveMessage(item.type, item.text, item.cursor, item.traceparent)), malformed };
  }

  static control(type: 'ready' | 'reset' | 'error', body: Record<string, unknown>): LiveMessage {
    return new LiveMessage(type, JSON.stringify({ type, ...body }), undefined);
  }

  /** The unmasked text frame (header and payload in one buffer), built on first use and shared by every socket. */
  wsFrame(): Buffer {
    this.frame ??= Buffer.concat(textFrame(Buffer.from(this.raw)));
    return this.frame;
  }

  /** The SSE event text, built on first use; the cursor is the event id. */
  sseEvent(): string {
    this.sse ??= `${this.cursor ? `id: ${this.cursor}\n` : ''}event: ${this.type}\ndata: ${this.raw}\n\n`;
    return this.sse;
  }
}

/** An unmasked, final RFC 6455 text frame (server to client): header and payload, no copy. */
export function textFrame(payload: Buffer): Buffer[] {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([0x81, length]);
  } else if (length < 65_536) {
    header = Buffer.alloc(4);
    header[0] = 0x81;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x81;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return [header, payload];
}
