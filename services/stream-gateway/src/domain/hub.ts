import type { InboxLogEntry } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import type { LiveChannels } from '../data-access/live-channels.js';
import { withContinuedSpan } from '@suite/telemetry';
import { LiveMessage } from './live-message.js';

/** A connected stream (WebSocket or SSE) that the hub delivers to. */
export interface StreamSink {
  readonly userId: number;
  /** The user whose token opened the stream (an admin may watch another user's), null for a service token. */
  readonly holder: number | null;
  /** A live message; `epoch` is the epoch of an activity's position (undefined for a deletion notice). */
  offer(epoch: string | undefined, message: LiveMessage): void;
  /** Inbox entries applied (streams that carry the inbox take them; `epoch` is the inbox's). */
  offerInbox?(epoch: string, entries: InboxLogEntry[]): void;
  /** Live messages may have been missed (the subscriber connection was lost): catch up from the log. */
  resync(): void;
  close(code: number, reason: string): void;
}

/**
 * Subscribes to a user's channel only while this replica has a stream for that user, and
 * fans each message out to all of them. One Redis subscriber connection per replica.
 */
export class Hub {
  private readonly sinks = new Map<number, Set<StreamSink>>();
  /** Streams held per user on this replica, from the handshake's end to the connection's close. */
  private readonly seats = new Map<number, number>();
  private readonly pending = new Map<number, Promise<unknown>>();

  constructor(
    private readonly channels: LiveChannels,
    private readonly logger: Logger,
    private readonly onDeliver: (count: number) => void = () => undefined,
  ) {
    channels.onMessage((userId, payload) => this.dispatch(userId, payload));
    // Pub/sub is at most once: what was published while the connection was down is gone; every
    // stream then reads what it missed from the log.
    channels.onReconnect(() => {
      for (const sink of this.all()) sink.resync();
    });
  }

  private dispatch(userId: number, payload: string): void {
    const sinks = this.sinks.get(userId);
    if (!sinks || sinks.size === 0) return;
    const decoded = LiveMessage.fromChannel(payload);
    if (decoded.kind === 'malformed' || (decoded.kind === 'batch' && decoded.malformed > 0))
      this.logger.warn({ userId }, 'ignoring malformed live messages');
    if (decoded.kind === 'deleted')
      for (const sink of sinks) sink.offer(undefined, decoded.message);
    if (decoded.kind === 'inbox') {
      if (decoded.malformed > 0) this.logger.warn({ userId }, 'ignoring malformed inbox entries');
      for (const sink of sinks) sink.offerInbox?.(decoded.epoch, decoded.entries);
      this.onDeliver(sinks.size * decoded.entries.length);
    }
    if (decoded.kind !== 'batch') return;
    const fanOut = (message: LiveMessage) => {
      for (const sink of sinks) sink.offer(decoded.epoch, message);
    };
    for (const message of decoded.messages) {
      // A traced activity continues the trace it was published in (when tracing is on here).
      if (message.traceparent)
        withContinuedSpan(
          'stream deliver',
          message.traceparent,
          { 'user.id': userId, 'stream.connections': sinks.size },
          () => fanOut(message),
        );
      else fanOut(message);
    }
    this.onDeliver(sinks.size * decoded.messages.length);
  }

  /** Adds a sink; resolves once the channel subscription is active (subscribe before reading the log). */
  async add(sink: StreamSink): Promise<void> {
    let set = this.sinks.get(sink.userId);
    if (!set) {
      set = new Set();
      this.sinks.set(sink.userId, set);
      const subscribing = this.channels.subscribe(sink.userId);
      this.pending.set(sink.userId, subscribing);
      await subscribing.finally(() => this.pending.delete(sink.userId));
    } else {
      await this.pending.get(sink.userId);
    }
    set.add(sink);
  }

  remove(sink: StreamSink): void {
    const set = this.sinks.get(sink.userId);
    if (!set?.delete(sink) || set.size > 0) return;
    this.sinks.delete(sink.userId);
    void this.channels
      .unsubscribe(sink.userId)
      .catch((err: unknown) => this.logger.warn({ err }, 'unsubscribe failed'));
  }

  /**
   * Takes one of `userId`'s `max` stream seats, or returns undefined when all are held. Checked
   * and taken in one synchronous step, so parallel handshakes cannot pass the cap between a check
   * and the awaited subscription that follows. The returned release may be called more than once.
   */
  claimSeat(userId: number, max: number): (() => void) | undefined {
    const held = this.seats.get(userId) ?? 0;
    if (held >= max) return undefined;
    this.seats.set(userId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.seats.get(userId) ?? 1) - 1;
      if (left > 0) this.seats.set(userId, left);
      else this.seats.delete(userId);
    };
  }

  /** Closes every stream opened with a token of `userId` (their own, or others' as an admin). */
  closeHeldBy(userId: number, code: number, reason: string): void {
    for (const sink of this.all()) if (sink.holder === userId) sink.close(code, reason);
  }

  all(): StreamSink[] {
    return [...this.sinks.values()].flatMap((s) => [...s]);
  }
}
