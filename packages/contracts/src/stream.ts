import { z } from 'zod';
import { Activity } from './activity.js';

/** Messages a stream client receives (WebSocket text frames or SSE `data:`), by `type`. */
export const StreamActivityMessage = z.object({ type: z.literal('activity'), cursor: z.string(), activity: Activity });
export const StreamReadyMessage = z.object({ type: z.literal('ready'), cursor: z.string().nullable() });
export const StreamResetMessage = z.object({ type: z.literal('reset'), reason: z.string() });
export const StreamErrorMessage = z.object({ type: z.literal('error'), code: z.string(), message: z.string() });
export const StreamMessage = z.discriminatedUnion('type', [StreamActivityMessage, StreamReadyMessage, StreamResetMessage, StreamErrorMessage]);
export type StreamMessage = z.infer<typeof StreamMessage>;

/** What the activity-service publishes on a user's Redis channel after a commit. */
export const LiveNotice = z.discriminatedUnion('type', [
  StreamActivityMessage,
  z.object({ type: z.literal('deleted'), userId: z.number().int() }),
]);
export type LiveNotice = z.infer<typeof LiveNotice>;

/** Redis key layout shared by the activity-service (writer) and the stream-gateway (reader). */
export const RedisKeys = {
  user: (prefix: string, userId: number | string) => `${prefix}u:${userId}:`,
  feed: (prefix: string, userId: number | string) => `${prefix}u:${userId}:feed`,
  items: (prefix: string, userId: number | string) => `${prefix}u:${userId}:items`,
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
