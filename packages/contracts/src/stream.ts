import { z } from 'zod';
import { Activity } from './activity.js';

/** Messages a stream client receives (WebSocket text frames or SSE `data:`), by `type`. */
export const StreamActivityMessage = z.object({ type: z.literal('activity'), cursor: z.string(), activity: Activity });
export const StreamReadyMessage = z.object({ type: z.literal('ready'), cursor: z.string().nullable() });
export const StreamResetMessage = z.object({ type: z.literal('reset'), reason: z.string() });
export const StreamErrorMessage = z.object({ type: z.literal('error'), code: z.string(), message: z.string() });
export const StreamMessage = z.discriminatedUnion('type', [StreamActivityMessage, StreamReadyMessage, StreamResetMessage, StreamErrorMessage]);
export type StreamMessage = z.infer<typeof StreamMessage>;

/** The JSON notice on a user's Redis channel when the user is deleted (activities travel as feed entries: `decodeLiveMessage`). */
export const LiveNotice = z.object({ type: z.literal('deleted'), userId: z.number().int() });
export type LiveNotice = z.infer<typeof LiveNotice>;

/** Redis key layout shared by the activity-service (writer) and the stream-gateway (reader). */
export const RedisKeys = {
  user: (prefix: string, userId: number | string) => `${prefix}u:${userId}:`,
  feed: (prefix: string, userId: number | string) => `${prefix}u:${userId}:feed`,
  stats: (prefix: string, userId: number | string) => `${prefix}u:${userId}:stats`,
  liveChannel: (prefix: string, userId: number | string) => `${prefix}live:${userId}`,
};

/** WebSocket close codes the gateway uses; documented in docs/stream.md. */
export const StreamCloseCodes = {
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  serverError: 1011,
  tokenExpired: 4001,
  userDeleted: 4004,
  slowConsumer: 4008,
  tooManyConnections: 4029,
} as const;

/** Feed members sort by event time, then id: 15-digit zero-padded milliseconds, a colon, the id. */
export function feedMember(timeIso: string, eventId: string): string {
  return `${String(Date.parse(timeIso)).padStart(15, '0')}:${eventId}`;
}

/** The opaque cursor clients see for a feed member. */
export function encodeCursor(member: string): string {
  return Buffer.from(member, 'utf8').toString('base64url');
}

/** Decodes an opaque cursor to its feed member; undefined when it is not one we issued. */
export function decodeCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) return undefined;
  const member = Buffer.from(cursor, 'base64url').toString('utf8');
  return /^\d{15}:.{1,128}$/.test(member) ? member : undefined;
}

/** The client's `activity` message for a feed member and its activity JSON, built by string, once per activity. */
export function activityMessageText(member: string, json: string): { cursor: string; text: string } {
  const cursor = encodeCursor(member);
  return { cursor, text: `{"type":"activity","cursor":"${cursor}","activity":${json}}` };
}

/** Separates the feed entries batched into one live channel message (U+001E, record separator). */
export const LIVE_ENTRY_SEPARATOR = '\x1e';

/** Separates an entry's W3C `traceparent` (when the event carried one) from the entry (U+001F). */
export const LIVE_TRACE_SEPARATOR = '\x1f';

/** A W3C traceparent (version 00): the only thing that may precede an entry in a live message. */
export const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** One message for stream clients, decoded from a live channel message. */
export interface LiveItem {
  type: 'activity' | 'deleted';
  /** The client-ready StreamMessage JSON text. */
  text: string;
  cursor?: string;
  /** The trace the activity was published in, for the delivery span. */
  traceparent?: string;
}

/**
 * Decodes a user's live channel message: either one JSON LiveNotice (a deletion), or the feed
 * entries just committed (see `feedEntry`) joined by LIVE_ENTRY_SEPARATOR, so a batch of a user's
 * activities costs one PUBLISH and no JSON work in Redis. An entry may be preceded by its
 * traceparent and LIVE_TRACE_SEPARATOR. `malformed` counts what was skipped.
 */
export function decodeLiveMessage(payload: string): { items: LiveItem[]; malformed: number } {
  if (payload.startsWith('{')) {
    try {
      if (LiveNotice.safeParse(JSON.parse(payload)).success) return { items: [{ type: 'deleted', text: payload }], malformed: 0 };
    } catch {
      // counted below
    }
    return { items: [], malformed: 1 };
  }
  const items: LiveItem[] = [];
  let malformed = 0;
  for (const item of payload.split(LIVE_ENTRY_SEPARATOR)) {
    const traced = item.indexOf(LIVE_TRACE_SEPARATOR);
    const traceparent = traced > 0 ? item.slice(0, traced) : undefined;
    if (traceparent !== undefined && !TRACEPARENT.test(traceparent)) {
      malformed++;
      continue;
    }
    const entry = traceparent === undefined ? item : item.slice(traced + 1);
    const at = entry.indexOf('\n');
    if (at < 17 || entry.charCodeAt(at + 1) !== 0x7b) {
      malformed++;
      continue;
    }
    items.push({ type: 'activity', ...activityMessageText(entry.slice(0, at), entry.slice(at + 1)), ...(traceparent ? { traceparent } : {}) });
  }
  return { items, malformed };
}

/**
 * A feed entry is the member (the sort key, `feedMember`), a newline, then the activity JSON: one
 * sorted-set member holds both, so a page is one ZRANGEBYLEX. Ids have no control characters, so
 * entries sort exactly as their members do.
 */
export function feedEntry(member: string, json: string): string {
  return `${member}\n${json}`;
}

export function splitFeedEntry(entry: string): { member: string; json: string } {
  const at = entry.indexOf('\n');
  return { member: entry.slice(0, at), json: entry.slice(at + 1) };
}

/** ZRANGEBYLEX bounds that exclude the entry of `member` itself: entries before it, entries after it. */
export const FeedBounds = {
  before: (member: string) => `(${member}`,
  // The entry is `member\n{...}`; '|' sorts right after '{', so this bound is above it and below any later member.
  after: (member: string) => `(${member}\n|`,
};
