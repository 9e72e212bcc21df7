import { z } from 'zod';
import { Activity } from './activity.js';
import { cloudEvent } from './cloudevents.js';
import { queryInteger } from './params.js';
import { EMPTY_STREAM_CURSOR, encodeStreamCursor } from './projection-layout.js';

/** The inbox's named limits (docs/activity-service.md "Inbox"). */
export const InboxLimits = {
  /** Recipients one activity may name (`data.notify.users`). */
  notifyMaxUsers: 1000,
  /** Ids one mark may name. */
  markMaxIds: 100,
  pageMaxItems: 100,
  /** A page's size when `limit` is not given. */
  pageDefaultItems: 20,
} as const;

export const INBOX_DELIVERED_TYPE = 'io.activitysuite.inbox.delivered';
export const INBOX_MARKED_TYPE = 'io.activitysuite.inbox.marked';

/** A delivery id: 22 base64url characters (132 bits of SHA-256 of the activity's owner, event id and recipient). */
export const DELIVERY_ID = /^[A-Za-z0-9_-]{22}$/;
const DeliveryId = z.string().regex(DELIVERY_ID, 'not a notification id this API issued');

/**
 * An inbox position as clients see it: `<epoch>.<position>` as on the stream, or `.0` for an inbox
 * that has had nothing yet.
 */
export const INBOX_CURSOR = /^(?:[0-9a-z]{1,16}\.[1-9][0-9]{0,14}|\.0)$/;
const InboxCursor = z.string().regex(INBOX_CURSOR, 'not an inbox cursor this API issued');

/** One recipient's delivery of one activity; `subject` is the recipient. */
export const InboxDeliveredData = z.strictObject({
  deliveryId: DeliveryId,
  recipientId: z.number().int().positive(),
  workspaceId: z.number().int().positive(),
  activity: Activity,
});
export type InboxDeliveredData = z.infer<typeof InboxDeliveredData>;
export const InboxDeliveredEvent = cloudEvent(INBOX_DELIVERED_TYPE, InboxDeliveredData);
export type InboxDeliveredEvent = z.infer<typeof InboxDeliveredEvent>;

export const MARK_ACTIONS = ['seen', 'read', 'unread', 'archive', 'unarchive'] as const;
export type MarkAction = (typeof MARK_ACTIONS)[number];

/**
 * A mark, as applied: `ids`, or every item up to `upTo` (a position; absent: everything applied
 * before the mark), only those of `workspaceId` when it is given. `seen` moves the seen watermark.
 */
export const InboxMarkedData = z.strictObject({
  recipientId: z.number().int().positive(),
  action: z.enum(MARK_ACTIONS),
  ids: z.array(DeliveryId).min(1).max(InboxLimits.markMaxIds).optional(),
  upTo: z.number().int().nonnegative().optional(),
  workspaceId: z.number().int().positive().optional(),
});
export type InboxMarkedData = z.infer<typeof InboxMarkedData>;
export const InboxMarkedEvent = cloudEvent(INBOX_MARKED_TYPE, InboxMarkedData);
export type InboxMarkedEvent = z.infer<typeof InboxMarkedEvent>;

/** Either record on `inbox.events`. */
export const InboxEvent = z.union([InboxDeliveredEvent, InboxMarkedEvent]);
export type InboxEvent = z.infer<typeof InboxEvent>;

/**
 * An `inbox.events` record, the one place its envelope is built: a delivery (`id` is the delivery
 * id) or a mark (`id` is random), both about their recipient (`subject`). Typed by the contract;
 * the records are parsed where they are consumed.
 */
export function inboxEvent(
  envelope: { id: string; source: string; time: string },
  body:
    | { type: typeof INBOX_DELIVERED_TYPE; data: InboxDeliveredData }
    | { type: typeof INBOX_MARKED_TYPE; data: InboxMarkedData },
): InboxEvent {
  return {
    specversion: '1.0',
    ...envelope,
    type: body.type,
    subject: String(body.data.recipientId),
    data: body.data,
  } as InboxEvent;
}

export const InboxCounts = z.object({
  /** Unread, not archived, and after the seen watermark. */
  unseen: z.number().int(),
  /** Not read, not archived. */
  unread: z.number().int(),
  /** Not archived. */
  total: z.number().int(),
});
export type InboxCounts = z.infer<typeof InboxCounts>;

export const NotificationCounts = InboxCounts.extend({ cursor: z.string() });
export type NotificationCounts = z.infer<typeof NotificationCounts>;

export const Notification = z.object({
  id: z.string(),
  /** The delivery's position (`<epoch>.<position>`): a mark's `upTo`. */
  cursor: z.string(),
  activity: Activity,
  workspaceId: z.number().int(),
  seen: z.boolean(),
  read: z.boolean(),
  archived: z.boolean(),
  /** When the delivery was recorded (broker time). */
  createdAt: z.string(),
});
export type Notification = z.infer<typeof Notification>;

export const NotificationPage = z.object({
  results: z.array(Notification),
  next: z.string().nullable(),
  counts: InboxCounts,
  /** The inbox's newest position: `upTo` for a mark that covers exactly what this page saw. */
  cursor: z.string(),
});
export type NotificationPage = z.infer<typeof NotificationPage>;

export const NotificationsQuery = z.strictObject({
  limit: queryInteger(InboxLimits.pageMaxItems).optional(),
  cursor: InboxCursor.optional(),
  status: z.enum(['all', 'unread', 'unseen']).optional(),
  archived: z.enum(['exclude', 'include', 'only']).optional(),
  workspaceId: queryInteger(Number.MAX_SAFE_INTEGER).optional(),
});

export const NotificationCountsQuery = z.strictObject({
  workspaceId: queryInteger(Number.MAX_SAFE_INTEGER).optional(),
});

export const SeenBody = z.strictObject({ upTo: InboxCursor.optional() });
export type SeenBody = z.infer<typeof SeenBody>;

/** `{ids}` or `{all: true, upTo?, workspaceId?}`. */
export const MarkBody = z.union([
  z.strictObject({ ids: z.array(DeliveryId).min(1).max(InboxLimits.markMaxIds) }),
  z.strictObject({
    all: z.literal(true),
    upTo: InboxCursor.optional(),
    workspaceId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  }),
]);
export type MarkBody = z.infer<typeof MarkBody>;

/** A mark's answer: the counts once applied (200), or `pending` when it was not applied within the wait (202). */
export const MarkResult = z.union([
  InboxCounts.extend({ cursor: z.string(), ignored: z.array(z.string()) }),
  z.object({ pending: z.literal(true), ignored: z.array(z.string()) }),
]);
export type MarkResult = z.infer<typeof MarkResult>;

// ---- the inbox log (Redis) and its live messages -------------------------------------------

/**
 * One entry of a user's inbox log: each delivery applied and each mark, at its position, with the
 * counts right after it. The Redis list and the live channel carry them as text:
 * `<position>|d|<unseen>|<unread>|<total>|<id>|<workspace>|<delivery ms>|<activity JSON>` or
 * `<position>|m|<unseen>|<unread>|<total>|<seen up to>|<read up to>|<action>|<ids, comma-joined>`.
 */
export type InboxLogEntry =
  | {
      kind: 'delivered';
      position: number;
      counts: InboxCounts;
      id: string;
      workspaceId: number;
      deliveredMs: number;
      activityJson: string;
    }
  | {
      kind: 'marked';
      position: number;
      counts: InboxCounts;
      seenUpTo: number;
      readUpTo: number;
      action: MarkAction;
      ids: string[];
    };

/** The inbox log entries in Lua, as `parseInboxLogEntry` reads them (`counts`: `<unseen>|<unread>|<total>`). */
export const INBOX_LOG_LUA = `local function loggedDelivery(position, counts, id, ws, ms, json)
  return position .. '|d|' .. counts .. '|' .. id .. '|' .. ws .. '|' .. ms .. '|' .. json
end
local function loggedMark(position, counts, seenUpTo, readUpTo, action, ids)
  return position .. '|m|' .. counts .. '|' .. seenUpTo .. '|' .. readUpTo .. '|' .. action .. '|' .. ids
end`;

/** An inbox position as clients see it: `<epoch>.<position>`, or `.0` before the inbox has anything. */
export function inboxCursor(epoch: string | null, position: number): string {
  return epoch && position > 0 ? encodeStreamCursor(epoch, position) : EMPTY_STREAM_CURSOR;
}

/** A `Notification` as JSON text, built once per notification around the stored activity JSON (not parsed again). */
export function notificationJson(n: {
  id: string;
  cursor: string;
  activityJson: string;
  workspaceId: number;
  seen: boolean;
  read: boolean;
  archived: boolean;
  deliveredMs: number;
}): string {
  return `{"id":${JSON.stringify(n.id)},"cursor":"${n.cursor}","activity":${n.activityJson},"workspaceId":${n.workspaceId},"seen":${n.seen},"read":${n.read},"archived":${n.archived},"createdAt":"${new Date(n.deliveredMs).toISOString()}"}`;
}

/** Parses an inbox log entry; undefined when it is not one. */
export function parseInboxLogEntry(text: string): InboxLogEntry | undefined {
  const fields: string[] = [];
  let at = 0;
  // The activity JSON is the last field and may hold '|': split the fixed fields only.
  for (let i = 0; i < 8; i++) {
    const bar = text.indexOf('|', at);
    if (bar < 0) break;
    fields.push(text.slice(at, bar));
    at = bar + 1;
  }
  fields.push(text.slice(at));
  if (fields.length !== 9) return undefined;
  const [position, kind, unseen, unread, total, a, b, c, rest] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const counts = { unseen: Number(unseen), unread: Number(unread), total: Number(total) };
  if (!/^[1-9][0-9]*$/.test(position) || Object.values(counts).some((n) => !Number.isInteger(n)))
    return undefined;
  if (kind === 'd' && DELIVERY_ID.test(a) && rest.startsWith('{'))
    return {
      kind: 'delivered',
      position: Number(position),
      counts,
      id: a,
      workspaceId: Number(b),
      deliveredMs: Number(c),
      activityJson: rest,
    };
  if (kind === 'm' && (MARK_ACTIONS as readonly string[]).includes(c))
    return {
      kind: 'marked',
      position: Number(position),
      counts,
      seenUpTo: Number(a),
      readUpTo: Number(b),
      action: c as MarkAction,
      ids: rest === '' ? [] : rest.split(','),
    };
  return undefined;
}

/** What starts a user's live channel message of inbox entries: `!<epoch>`, then each entry after U+001E. */
export const INBOX_LIVE_MARK = '!';
