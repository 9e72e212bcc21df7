import { z } from 'zod';
import { Activity } from './activity.js';
import {
  INBOX_LIVE_MARK,
  InboxCounts,
  MARK_ACTIONS,
  Notification,
  parseInboxLogEntry,
  type InboxLogEntry,
} from './inbox.js';
import { parseStreamPosition } from './projection-layout.js';

/** Messages a stream client receives (WebSocket text frames or SSE `data:`), by `type`. */
/** The WebSocket subprotocol of the activity stream. */
export const STREAM_SUBPROTOCOL = 'activity-stream.v1';

/** The channels a stream may carry (`channels=` on the stream path; default `activity`). */
export const STREAM_CHANNELS = ['activity', 'inbox'] as const;
export type StreamChannel = (typeof STREAM_CHANNELS)[number];

// Messages name their channel when the stream carries the inbox (`channel`); an activity-only stream's are as they always were.
export const StreamActivityMessage = z.object({
  type: z.literal('activity'),
  channel: z.literal('activity').optional(),
  cursor: z.string(),
  activity: Activity,
});
export const StreamReadyMessage = z.object({
  type: z.literal('ready'),
  cursor: z.string().nullable(),
});
export const StreamResetMessage = z.object({
  type: z.literal('reset'),
  channel: z.enum(STREAM_CHANNELS).optional(),
  reason: z.string(),
});
export const StreamErrorMessage = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
});
/** A notification delivered to the user's inbox, with the counts right after it. */
export const StreamNotificationMessage = z.object({
  type: z.literal('notification'),
  channel: z.literal('inbox'),
  cursor: z.string(),
  notification: Notification,
  counts: InboxCounts,
});
/**
 * The inbox's state: first on connect and on resume (`gap` when entries the client missed are no
 * longer retained: read the list again), then after every mark from any device (`mark`).
 */
export const StreamInboxStateMessage = z.object({
  type: z.literal('inbox.state'),
  channel: z.literal('inbox'),
  cursor: z.string(),
  /** The inbox's own position (a mark's `upTo`). */
  inboxCursor: z.string(),
  counts: InboxCounts,
  seenUpTo: z.string(),
  readUpTo: z.string(),
  mark: z.object({ action: z.enum(MARK_ACTIONS), ids: z.array(z.string()).optional() }).optional(),
  gap: z.boolean().optional(),
});
export const StreamMessage = z.discriminatedUnion('type', [
  StreamActivityMessage,
  StreamReadyMessage,
  StreamResetMessage,
  StreamErrorMessage,
  StreamNotificationMessage,
  StreamInboxStateMessage,
]);
export type StreamMessage = z.infer<typeof StreamMessage>;

/** The JSON notice on a user's Redis channel when the user is deleted (activities travel as feed entries: `decodeLiveMessage`). */
export const LiveNotice = z.object({ type: z.literal('deleted'), userId: z.number().int() });
export type LiveNotice = z.infer<typeof LiveNotice>;

/** WebSocket close codes the gateway uses; documented in docs/stream.md. */
export const StreamCloseCodes = {
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  serverError: 1011,
  tokenExpired: 4001,
  userDeleted: 4004,
  /** The user was deactivated or deleted: every token of theirs is refused from now on. */
  tokenRevoked: 4003,
  slowConsumer: 4008,
  tooManyConnections: 4029,
} as const;

/** The client's `activity` message for a stream cursor and the activity JSON, built by string, once per activity. */
export function activityMessageText(cursor: string, json: string): string {
  return `{"type":"activity","cursor":"${cursor}","activity":${json}}`;
}

/** Separates the items of one live batch (U+001E, record separator); JSON escapes it inside strings. */
export const LIVE_ENTRY_SEPARATOR = '\x1e';

/** Separates an item's W3C `traceparent` (when the event carried one) from its activity JSON (U+001F). */
export const LIVE_TRACE_SEPARATOR = '\x1f';

/** A W3C traceparent (version 00): the only thing that may precede an item in a live batch. */
export const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** One activity of a live batch, as the projection publishes it. */
export interface LiveItem {
  json: string;
  /** The trace the activity was published in ('' or undefined when none). */
  traceparent?: string;
}

/**
 * A user's live channel message for the activities one transaction appended to their stream log:
 * `<epoch>.<first position>`, then each item (its traceparent and U+001F when it has one, then
 * the activity JSON), all joined by U+001E. Item i has position first + i. One PUBLISH per user
 * per batch, no JSON work for either side.
 */
export function encodeLiveBatch(epoch: string, first: number, items: LiveItem[]): string {
  let text = `${epoch}.${first}`;
  for (const item of items)
    text += item.traceparent
      ? `${LIVE_ENTRY_SEPARATOR}${item.traceparent}${LIVE_TRACE_SEPARATOR}${item.json}`
      : `${LIVE_ENTRY_SEPARATOR}${item.json}`;
  return text;
}

/** A decoded live channel message. */
export type LiveMessageDecoded =
  | { kind: 'deleted'; text: string }
  | { kind: 'inbox'; epoch: string; entries: InboxLogEntry[]; malformed: number }
  | { kind: 'batch'; epoch: string; items: (LiveItem & { position: number })[]; malformed: number }
  | { kind: 'malformed' };

/**
 * Decodes a user's live channel message: a JSON `LiveNotice` (the user was deleted) or a live batch
 * (`encodeLiveBatch`). A malformed item is left out but keeps its position, so a reader sees the
 * gap and can fill it from the stream log.
 */
export function decodeLiveMessage(payload: string): LiveMessageDecoded {
  if (payload.startsWith('{')) {
    try {
      if (LiveNotice.safeParse(JSON.parse(payload)).success)
        return { kind: 'deleted', text: payload };
    } catch {
      // malformed, below
    }
    return { kind: 'malformed' };
  }
  const parts = payload.split(LIVE_ENTRY_SEPARATOR);
  if (payload.startsWith(INBOX_LIVE_MARK)) {
    const epoch = parts[0]!.slice(INBOX_LIVE_MARK.length);
    const entries = parts.slice(1).map(parseInboxLogEntry);
    const valid = entries.filter((e) => e !== undefined);
    return /^[0-9a-z]{1,16}$/.test(epoch)
      ? { kind: 'inbox', epoch, entries: valid, malformed: entries.length - valid.length }
      : { kind: 'malformed' };
  }
  const header = parseStreamPosition(parts[0]!);
  if (!header) return { kind: 'malformed' };
  const first = header.position;
  const items: (LiveItem & { position: number })[] = [];
  let malformed = 0;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    const traced = part.indexOf(LIVE_TRACE_SEPARATOR);
    const traceparent = traced > 0 ? part.slice(0, traced) : undefined;
    const json = traceparent === undefined ? part : part.slice(traced + 1);
    if (
      (traceparent !== undefined && !TRACEPARENT.test(traceparent)) ||
      json.charCodeAt(0) !== 0x7b
    ) {
      malformed++;
      continue;
    }
    items.push({ position: first + i - 1, json, ...(traceparent ? { traceparent } : {}) });
  }
  return { kind: 'batch', epoch: header.epoch, items, malformed };
}
