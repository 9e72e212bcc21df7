import {
  activityMessageText,
  decodeLiveMessage,
  encodeStreamCursor,
  type InboxLogEntry,
} from '@suite/contracts';

/** One channel message, decoded once for every stream of that user. */
export type LiveDispatch =
  | { kind: 'deleted'; message: LiveMessage }
  | { kind: 'inbox'; epoch: string; entries: InboxLogEntry[]; malformed: number }
  | { kind: 'batch'; epoch: string; messages: LiveMessage[]; malformed: number }
  | { kind: 'malformed' };

/**
 * One message for stream clients, prepared once for every connection of that user: its stream
 * position, WebSocket-framed once, SSE-encoded once.
 */
export class LiveMessage {
  private frame: Buffer | undefined;
  private sse: string | undefined;

  constructor(
    readonly type:
      'activity' | 'deleted' | 'ready' | 'reset' | 'error' | 'notification' | 'inbox.state',
    readonly raw: string,
    readonly cursor: string | undefined,
    /** The activity's position in the user's stream (activities only). */
    readonly position = 0,
    /** The W3C trace the activity was published in, when it carried one. */
    readonly traceparent?: string,
    /** The activity JSON (activities only): a stream that carries the inbox frames it again with its own cursor. */
    readonly json?: string,
  ) {}

  /** An activity at `position` of `epoch`. */
  static activity(
    epoch: string,
    position: number,
    json: string,
    traceparent?: string,
  ): LiveMessage {
    const cursor = encodeStreamCursor(epoch, position);
    return new LiveMessage(
      'activity',
      activityMessageText(cursor, json),
      cursor,
      position,
      traceparent,
      json,
    );
  }

  /** A message of a stream that carries the inbox: it names its channel, and its cursor resumes every channel. */
  static channelled(
    type: 'activity' | 'notification' | 'inbox.state',
    cursor: string,
    fields: string,
  ): LiveMessage {
    const channel = type === 'activity' ? 'activity' : 'inbox';
    return new LiveMessage(
      type,
      `{"type":"${type}","channel":"${channel}","cursor":"${cursor}",${fields}}`,
      cursor,
    );
  }

  /** Decodes a user's channel message (see decodeLiveMessage in the contracts). */
  static fromChannel(payload: string): LiveDispatch {
    const decoded = decodeLiveMessage(payload);
    if (decoded.kind === 'deleted')
      return { kind: 'deleted', message: new LiveMessage('deleted', decoded.text, undefined) };
    if (decoded.kind === 'malformed' || decoded.kind === 'inbox') return decoded;
    const messages = decoded.items.map((item) =>
      LiveMessage.activity(decoded.epoch, item.position, item.json, item.traceparent),
    );
    return { kind: 'batch', epoch: decoded.epoch, messages, malformed: decoded.malformed };
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
