import {
  inboxCursor,
  notificationJson,
  type InboxLogEntry,
  type StreamPosition,
} from '@suite/contracts';
import type { InboxHead, ProjectionReader } from '@suite/projection-reader';
import { LiveQueue } from './live-queue.js';

/** Inbox log entries read per round trip while catching up. */
const PAGE = 200;

/** How the inbox channel writes a message: its type, and the fields after `type`, `channel` and `cursor`. */
export type InboxEmit = (type: 'notification' | 'inbox.state', fields: string) => void;

/**
 * The inbox channel of one stream, by position, as the activity channel is: each inbox entry
 * (delivery or mark) is delivered once, in order, from the live channel when it is the next one,
 * from the inbox log otherwise. It starts with the inbox's state (counts and watermarks), on
 * connect and on resume; a resumed client then gets the entries it missed, marks from its other
 * devices included. When entries it missed are no longer retained (or the inbox was rebuilt), the
 * state says `gap` and the channel goes on from the newest.
 */
export class InboxChannel {
  /** The epoch of `last`; null while the inbox has had nothing. */
  private epoch: string | null = null;
  private last = 0;
  private catchingUp = true;
  private readonly queued = new LiveQueue<[string, InboxLogEntry]>();

  constructor(
    private readonly userId: number,
    private readonly reader: ProjectionReader,
    private readonly emit: InboxEmit,
    private readonly closed: () => boolean,
  ) {}

  /** The channel's resume position (`<epoch>.<position>`, or `.0`). */
  cursor(): string {
    return inboxCursor(this.epoch, this.last);
  }

  /** Sends the state, then what the client missed since `cursor` (nothing without one). Call after subscribing. */
  async open(cursor: StreamPosition | 'empty' | undefined): Promise<void> {
    const { head } = await this.reader.inboxAfter(this.userId, Number.MAX_SAFE_INTEGER, 1);
    let gap = false;
    if (cursor === undefined) {
      this.epoch = head.epoch;
      this.last = head.position;
    } else if (cursor === 'empty') {
      this.epoch = head.epoch;
      this.last = 0;
      gap = head.oldest > 1;
    } else if (cursor.epoch !== head.epoch) {
      this.epoch = head.epoch;
      this.last = head.position;
      gap = true;
    } else {
      this.epoch = cursor.epoch;
      this.last = Math.min(cursor.position, head.position);
      gap = this.last < head.oldest - 1;
      if (gap) this.last = head.oldest - 1;
    }
    this.state(head, gap);
    await this.catchUp(true);
  }

  /** Live entries: delivered when next in line, else read from the log first. */
  offer(epoch: string, entries: InboxLogEntry[]): void {
    this.queued.push(...entries.map((e): [string, InboxLogEntry] => [epoch, e]));
    if (!this.catchingUp) void this.catchUp(false).catch(() => this.resync());
  }

  /** Reads what may have been missed (the subscriber reconnected). */
  resync(): void {
    if (!this.catchingUp && !this.closed()) void this.catchUp(true).catch(() => undefined);
  }

  private state(head: InboxHead, gap: boolean): void {
    const fields = `"inboxCursor":"${inboxCursor(head.epoch, head.position)}","counts":${JSON.stringify(head.counts)},"seenUpTo":"${inboxCursor(head.epoch, head.seenUpTo)}","readUpTo":"${inboxCursor(head.epoch, head.readUpTo)}"${gap ? ',"gap":true' : ''}`;
    this.emit('inbox.state', fields);
  }

  /** Delivers one entry if it is the next; false when the log must be read first. */
  private apply(epoch: string, entry: InboxLogEntry): boolean {
    if (this.epoch !== null && epoch !== this.epoch) return false;
    if (entry.position <= this.last) return true;
    if (entry.position !== this.last + 1) return false;
    this.epoch = epoch;
    this.last = entry.position;
    const at = inboxCursor(epoch, entry.position);
    const counts = JSON.stringify(entry.counts);
    if (entry.kind === 'delivered') {
      // A delivery is new: neither seen, read nor archived (later marks come as later entries).
      const notification = notificationJson({
        id: entry.id,
        cursor: at,
        activityJson: entry.activityJson,
        workspaceId: entry.workspaceId,
        seen: false,
        read: false,
        archived: false,
        deliveredMs: entry.deliveredMs,
      });
      this.emit('notification', `"notification":${notification},"counts":${counts}`);
    } else {
      const ids = entry.ids.length > 0 ? `,"ids":${JSON.stringify(entry.ids)}` : '';
      this.emit(
        'inbox.state',
        `"inboxCursor":"${at}","counts":${counts},"seenUpTo":"${inboxCursor(epoch, entry.seenUpTo)}","readUpTo":"${inboxCursor(epoch, entry.readUpTo)}","mark":{"action":"${entry.action}"${ids}}`,
      );
    }
    return true;
  }

  private async catchUp(read: boolean): Promise<void> {
    this.catchingUp = true;
    try {
      await this.queued.drain(
        read,
        () => this.readLog(),
        this.closed,
        (item) => this.apply(...item),
      );
    } finally {
      this.catchingUp = false;
    }
  }

  private async readLog(): Promise<void> {
    for (;;) {
      const { head, entries } = await this.reader.inboxAfter(this.userId, this.last, PAGE);
      if (this.closed()) return;
      if (head.epoch !== null && this.epoch !== null && head.epoch !== this.epoch) {
        // The inbox was rebuilt: its positions start over; the state says so and the channel goes on from the newest.
        this.epoch = head.epoch;
        this.last = head.position;
        this.state(head, true);
        return;
      }
      if (head.epoch === null) return;
      if (this.last < head.oldest - 1) {
        this.last = head.oldest - 1;
        this.state(head, true);
      }
      for (const entry of entries) {
        // An entry that could not be read leaves its position out: go past it rather than wait for it.
        if (entry.position > this.last + 1) this.last = entry.position - 1;
        this.apply(head.epoch, entry);
      }
      if (entries.length < PAGE) return;
    }
  }
}
