import { z } from 'zod';
import { Activity } from './activity.js';
import { parseStreamPosition } from './projection-layout.js';

/** Messages a stream client receives (WebSocket text frames or SSE `data:`), by `type`. */
/** The WebSocket subprotocol of the activity stream. */
export const STREAM_SUBPROTOCOL = 'activity-stream.v1';

export const StreamActivityMessage = z.object({ type: z.literal('activity'), cursor: z.string(), activity: Activity });
export const StreamReadyMessage = z.object({ type: z.literal('ready'), cursor: z.string().nullable() });
export const StreamResetMessage = z.object({ type: z.literal('reset'), reason: z.string() });
export const StreamErrorMessage = z.object({ type: z.literal('error'), code: z.string(), message: z.string() });
export const StreamMessage = z.discriminatedUnion('type', [StreamActivityMessage, StreamReadyMessage, StreamResetMessage, StreamErrorMessage]);
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
  for (const item of items) text += item.traceparent ? `${LIVE_ENTRY_SEPARATOR}${item.traceparent}${LIVE_TRACE_SEPARATOR}${item.json}` : `${LIVE_ENTRY_SEPARATOR}${item.json}`;
  return text;
}

/** A decoded live channel message. */
export type LiveMessageDecoded =
  | { kind: 'deleted'; text: string }
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
      if (LiveNotice.safeParse(JSON.parse(payload)).success) return { kind: 'deleted', text: payload };
    } catch {
      // malformed, below
    }
    return { kind: 'malformed' };
  }
  const parts = payload.split(LIVE_ENTRY_SEPARATOR);
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
    if ((traceparent !== undefined && !TRACEPARENT.test(traceparent)) || json.charCodeAt(0) !== 0x7b) {
      malformed++;
      continue;
    }
    items.push({ position: first + i - 1, json, ...(traceparent ? { traceparent } : {}) });
  }
  return { kind: 'batch', epoch: header.epoch, items, malformed };
}
