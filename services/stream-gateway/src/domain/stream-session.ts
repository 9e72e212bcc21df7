import {
  backoffMs,
  channelsCursor,
  EMPTY_STREAM_CURSOR,
  StreamCloseCodes,
  encodeStreamCursor,
  type InboxLogEntry,
  type StreamPosition,
} from '@suite/contracts';
import type { ProjectionReader } from '@suite/projection-reader';
import type { Hub, StreamSink } from './hub.js';
import { InboxChannel } from './inbox-channel.js';
import { LiveQueue } from './live-queue.js';
import { LiveMessage } from './live-message.js';

/** How a session writes: WebSocket frames or SSE events. */
export interface Transport {
  send(message: LiveMessage): void;
  /** Bytes queued for this client and not yet handed to the kernel. */
  bufferedBytes(): number;
  close(code: number, reason: string): void;
}

/** The session options a handshake decides: the channels, and where the inbox resumes. */
export function channelOptions(auth: {
  channels: Set<string>;
  inboxCursor: StreamPosition | 'empty' | undefined;
}): Pick<SessionOptions, 'inbox' | 'withoutActivity'> {
  return {
    ...(auth.channels.has('inbox') ? { inbox: { cursor: auth.inboxCursor } } : {}),
    ...(auth.channels.has('activity') ? {} : { withoutActivity: true }),
  };
}

export interface SessionOptions {
  /** The user whose token opened the stream; null for a service token. */
  holder?: number | null;
  highWaterMark: number;
  onSlowClient: () => void;
  /** The stream carries the inbox too: from where (`empty`: an inbox that had nothing; none: from now). */
  inbox?: { cursor: StreamPosition | 'empty' | undefined };
  /** The stream leaves the activity channel out (`channels=inbox`). */
  withoutActivity?: boolean;
}

/** Log entries read per round trip while catching up. */
const PAGE = 200;

/** Failed catch-ups (Redis unreachable) before the stream is closed; with backoff, about 30 s. */
const CATCH_UP_RETRIES = 20;

const RESET = {
  retention: 'the cursor is older than the retained history; what is retained follows',
  epoch: 'the stream was rebuilt since this cursor was issued; what is retained follows',
  gone: 'the stream this cursor belongs to no longer exists',
};

/**
 * One client's stream, by position. Every activity has a position in its user's stream, assigned
 * when the projection applied it (strictly increasing in application order) within an epoch (one
 * generation of the projections). The session delivers each position once, in order: what it
 * delivers next is always `last + 1`, from the live channel when the next live message is that,
 * from the stream log otherwise (on open, after a gap, after the subscriber reconnected). A live
 * message at or below `last` was already delivered and is skipped; one from another epoch means
 * the projections were rebuilt, and the client gets a `reset` and the retained history again.
 */
export class StreamSession implements StreamSink {
  /** The epoch of `last`; null while the user has no stream. */
  private epoch: string | null = null;
  /** The last position delivered (or the client's cursor). */
  private last = 0;
  /** After an epoch change: deliver from the oldest retained entry without a second reset. */
  private fromOldest = false;
  /** True while the log is being read; live messages wait in `queued` meanwhile. */
  private catchingUp = true;
  private readonly queued = new LiveQueue<[string | undefined, LiveMessage]>();
  private closed = false;
  readonly holder: number | null;
  /** The inbox channel, when the stream carries it: every message then names its channel and carries both positions. */
  private readonly inbox: InboxChannel | undefined;

  constructor(
    readonly userId: number,
    private readonly transport: Transport,
    private readonly hub: Hub,
    private readonly reader: ProjectionReader,
    private readonly options: SessionOptions,
  ) {
    this.holder = options.holder ?? null;
    this.inbox = options.inbox
      ? new InboxChannel(
          userId,
          reader,
          (type, fields) => this.send(LiveMessage.channelled(type, this.resumeCursor(), fields)),
          () => this.closed,
        )
      : undefined;
  }

  /** The one resume token: the activity position, and the inbox's when the stream carries it. */
  private resumeCursor(): string {
    const activity = this.epoch ? encodeStreamCursor(this.epoch, this.last) : EMPTY_STREAM_CURSOR;
    return this.inbox ? channelsCursor(activity, this.inbox.cursor()) : activity;
  }

  offerInbox(epoch: string, entries: InboxLogEntry[]): void {
    if (!this.closed) this.inbox?.offer(epoch, entries);
  }

  /** Subscribes, replays what the client missed since `cursor` (none without one), then goes live. */
  async open(cursor: StreamPosition | 'empty' | 'stale' | undefined): Promise<void> {
    await this.hub.add(this);
    if (cursor === undefined) {
      const { head } = await this.reader.streamAfter(this.userId, Number.MAX_SAFE_INTEGER, 1);
      this.epoch = head.epoch;
      this.last = head.position;
      if (head.deleted) this.close(StreamCloseCodes.userDeleted, 'user deleted');
    } else if (cursor === 'empty') {
      // The client opened before the user had any activity: whatever the stream holds now is new to it.
      this.epoch = null;
      this.last = 0;
    } else if (cursor === 'stale') {
      // An epoch no stream has: the first read sends the reset.
      this.epoch = '';
    } else {
      this.epoch = cursor.epoch;
      this.last = cursor.position;
    }
    await this.catchUp(cursor !== undefined);
    if (this.closed) return;
    if (this.inbox) await this.inbox.open(this.options.inbox!.cursor);
    if (this.closed) return;
    // A stream without activity yet still gets a cursor: resuming from it loses nothing that arrives meanwhile.
    this.send(LiveMessage.control('ready', { cursor: this.resumeCursor() }));
  }

  offer(epoch: string | undefined, message: LiveMessage): void {
    if (this.closed) return;
    if (this.catchingUp) {
      this.queued.push([epoch, message]);
      return;
    }
    if (!this.apply(epoch, message)) {
      this.queued.push([epoch, message]);
      this.startCatchUp();
    }
  }

  resync(): void {
    if (!this.closed && !this.catchingUp) this.startCatchUp();
    this.inbox?.resync();
  }

  private retries = 0;

  /**
   * Catches up from the log. When Redis cannot be read (an outage), live messages keep waiting and
   * the read is retried with backoff: the hub also asks for a resync once its subscriber is back.
   * A stream that still cannot catch up after CATCH_UP_RETRIES tries is closed with 1011 and
   * the client resumes from its cursor.
   */
  private startCatchUp(): void {
    this.catchUp(true).then(
      () => (this.retries = 0),
      () => {
        if (this.closed) return;
        if (++this.retries > CATCH_UP_RETRIES) {
          this.close(StreamCloseCodes.serverError, 'stream could not catch up');
          return;
        }
        setTimeout(() => this.resync(), backoffMs(this.retries + 1, 100, 2000)).unref();
      },
    );
  }

  /**
   * Delivers a live message if it is the next position; false when the log must be read first
   * (a gap before it, or a new epoch).
   */
  private apply(epoch: string | undefined, message: LiveMessage): boolean {
    if (message.type === 'deleted') {
      this.close(StreamCloseCodes.userDeleted, 'user deleted');
      return true;
    }
    if (epoch !== this.epoch) {
      if (this.epoch === null) {
        // The user had no stream when this one opened: everything in the new one is new to the client.
        this.epoch = epoch!;
        this.last = 0;
      } else {
        this.send(
          LiveMessage.control('reset', {
            ...(this.inbox ? { channel: 'activity' } : {}),
            reason: RESET.epoch,
          }),
        );
        this.epoch = epoch!;
        this.last = 0;
        this.fromOldest = true;
        return false;
      }
    }
    if (message.position <= this.last) return true;
    if (message.position !== this.last + 1) return false;
    this.last = message.position;
    this.deliver(message);
    return true;
  }

  /** Reads the log after `last` (when `read`), then the live messages that came meanwhile, until no gap is left. */
  private async catchUp(read: boolean): Promise<void> {
    this.catchingUp = true;
    try {
      await this.queued.drain(
        read,
        () => this.readLog(),
        () => this.closed,
        (item) => this.apply(...item),
      );
    } finally {
      this.catchingUp = false;
    }
  }

  private async readLog(): Promise<void> {
    let resetSent = false;
    const reset = (reason: string) => {
      if (!resetSent)
        this.send(
          LiveMessage.control('reset', { ...(this.inbox ? { channel: 'activity' } : {}), reason }),
        );
      resetSent = true;
    };
    for (;;) {
      const { head, entries } = await this.reader.streamAfter(this.userId, this.last, PAGE);
      if (this.closed) return;
      if (head.deleted) {
        this.close(StreamCloseCodes.userDeleted, 'user deleted');
        return;
      }
      if (head.epoch !== this.epoch) {
        if (this.epoch !== null) reset(head.epoch === null ? RESET.gone : RESET.epoch);
        this.epoch = head.epoch;
        this.last = 0;
        this.fromOldest = true;
        if (head.epoch === null) return;
        continue;
      }
      if (this.last < head.oldest - 1) {
        if (!this.fromOldest) reset(RESET.retention);
        this.last = head.oldest - 1;
      }
      this.fromOldest = false;
      for (const entry of entries) {
        if (entry.position !== this.last + 1) continue;
        this.last = entry.position;
        this.deliver(LiveMessage.activity(head.epoch!, entry.position, entry.json));
      }
      if (entries.length < PAGE) return;
    }
  }

  /** An activity, as it is (shared by every stream of the user), or framed with this stream's channels cursor. */
  private deliver(message: LiveMessage): void {
    if (this.options.withoutActivity) return;
    if (!this.inbox) this.send(message);
    else
      this.send(
        LiveMessage.channelled('activity', this.resumeCursor(), `"activity":${message.json}`),
      );
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
