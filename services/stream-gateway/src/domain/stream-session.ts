import { StreamCloseCodes, activityMessageText, decodeCursor } from '@suite/contracts';
import type { Hub, StreamSink } from './hub.js';
import { LiveMessage } from './live-message.js';
import type { FeedReader } from './replay.js';

/** How a session writes: WebSocket frames or SSE events. */
export interface Transport {
  send(message: LiveMessage): void;
  /** Bytes queued for this client and not yet handed to the kernel. */
  bufferedBytes(): number;
  close(code: number, reason: string): void;
}

export interface SessionOptions {
  highWaterMark: number;
  onSlowClient: () => void;
}

/**
 * One client's stream: subscribe first, buffer live messages while replaying the feed after the
 * client's cursor, then merge (skipping what the replay already sent) and go live. No gap, no
 * duplicate, in order.
 */
export class StreamSession implements StreamSink {
  private replaying = true;
  private buffered: LiveMessage[] = [];
  private closed = false;

  constructor(
    readonly userId: number,
    private readonly transport: Transport,
    private readonly hub: Hub,
    private readonly feed: FeedReader,
    private readonly options: SessionOptions,
  ) {}

  async open(cursor: string | undefined): Promise<void> {
    await this.hub.add(this);
    const sent = new Set<string>();
    let last: string | null = cursor ?? null;
    let after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (after !== undefined && (await this.feed.isTooOld(this.userId, after))) {
      this.send(LiveMessage.control('reset', { reason: 'the cursor is older than the retained feed; replaying what is retained' }));
      after = undefined;
    }
    if (cursor !== undefined) {
      await this.feed.forEachAfter(this.userId, after, (member, json) => {
        if (this.closed) return;
        const { cursor: c, text } = activityMessageText(member, json);
        this.send(new LiveMessage('activity', text, c));
        sent.add(c);
        last = c;
      });
      // An activity the replay read may have its live message still on the way (it travels on the
      // subscriber connection, the replay on another): wait until it is here, so it is skipped
      // below instead of arriving after we went live as a duplicate.
      await this.hub.drained();
    }
    // Live messages that arrived during the replay, minus those the replay already delivered.
    for (const message of this.buffered) {
      if (message.cursor !== undefined && sent.has(message.cursor)) continue;
      this.handle(message);
      if (message.cursor) last = message.cursor;
    }
    this.buffered = [];
    this.replaying = false;
    this.send(LiveMessage.control('ready', { cursor: last }));
  }

  deliver(message: LiveMessage): void {
    if (this.closed) return;
    if (this.replaying) {
      this.buffered.push(message);
      return;
    }
    this.handle(message);
  }

  private handle(message: LiveMessage): void {
    if (message.type === 'deleted') this.close(StreamCloseCodes.userDeleted, 'user deleted');
    else this.send(message);
  }

  private checkScheduled = false;

  private send(message: LiveMessage): void {
    if (this.closed) return;
    this.transport.send(message);
    // Measure after this tick's writes were handed to the kernel: a burst that a healthy client's
    // socket absorbs is fine; bytes piling up in our own queue mean the client is not reading.
    if (!this.checkScheduled) {
      this.checkScheduled = true;
      setImmediate(() => {
        this.checkScheduled = false;
        if (!this.closed && this.transport.bufferedBytes() > this.options.highWaterMark) {
          this.options.onSlowClient();
          this.close(StreamCloseCodes.slowConsumer, 'client too slow');
        }
      });
    }
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove(this);
    this.transport.close(code, reason);
  }

  /** Called when the transport closed by itself (client left). */
  detach(): void {
    this.closed = true;
    this.hub.remove(this);
  }
}
