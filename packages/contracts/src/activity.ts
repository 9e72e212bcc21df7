import { z } from 'zod';
import { cloudEvent } from './cloudevents.js';
import { toErrorDetails } from './errors.js';
import { queryInteger } from './params.js';
import { FEED_CURSOR } from './projection-layout.js';

/** Size limits for activity events (bytes of UTF-8 JSON). */
export const ActivityLimits = {
  metadataMaxBytes: 4096,
  eventMaxBytes: 16384,
  batchMaxItems: 500,
  batchMaxBytes: 1048576,
  /** Deepest nesting of arrays and objects inside `metadata`. */
  metadataMaxDepth: 32,
  pageMaxItems: 100,
  /** A page's size when `limit` is not given. */
  pageDefaultItems: 20,
  activeWorkspacesMaxDays: 365,
  /** The window of "active workspaces" when `days` is not given. */
  activeWorkspacesDefaultDays: 30,
} as const;

export const ACTIVITY_EVENT_TYPE = 'io.activitysuite.activity.recorded';

/**
 * How far an event's `time` may lie from when it was received: late by days is normal (offline
 * clients, retries), the far past or future is a broken or hostile publisher, and would sit on
 * top of a feed or in "active workspaces" for ever. Over HTTP "received" is the request's arrival;
 * on Kafka it is the record's timestamp, so a replay decides exactly as the first run did.
 */
export interface EventTimeWindow {
  maxAgeMs: number;
  maxAheadMs: number;
}

export const DEFAULT_EVENT_TIME_WINDOW: EventTimeWindow = {
  maxAgeMs: 30 * 86_400_000,
  maxAheadMs: 5 * 60_000,
};

function spoken(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hours`;
  if (ms % 60_000 === 0) return `${ms / 60_000} minutes`;
  return `${ms / 1000} seconds`;
}

/** Why an event's time (epoch ms, `Date.parse(event.time)`) is outside the window around `receivedMs`, or undefined when it is inside. */
export function eventTimeProblem(
  timeMs: number,
  receivedMs: number,
  window: EventTimeWindow,
): string | undefined {
  if (timeMs < receivedMs - window.maxAgeMs)
    return `more than ${spoken(window.maxAgeMs)} before the event was received`;
  if (timeMs > receivedMs + window.maxAheadMs)
    return `more than ${spoken(window.maxAheadMs)} after the event was received`;
  return undefined;
}

const PositiveId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const Token = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _.:- only');

/**
 * Who the activity notifies: the inbox router delivers it to each of `users` who can reach the
 * activity's workspace when it routes it, the actor left out unless `includeActor`. Not part of the
 * stored activity.
 */
export const Notify = z.strictObject({
  users: z.array(PositiveId).min(1).max(1000),
  includeActor: z.boolean().optional(),
});
export type Notify = z.infer<typeof Notify>;

export const ActivityObject = z.strictObject({
  type: Token,
  id: z.string().min(1).max(128),
});
export type ActivityObject = z.infer<typeof ActivityObject>;

/** True when no array or object in `value` sits deeper than `maxDepth`; walks without recursion, so any depth is safe to ask about. */
export function nestingWithin(value: unknown, maxDepth: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (node === null || typeof node !== 'object') continue;
    if (depth > maxDepth) return false;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return true;
}

/**
 * True when `metadata` nests at most `ActivityLimits.metadataMaxDepth` deep and is within
 * `ActivityLimits.metadataMaxBytes` of JSON (the checks JSON Schema cannot state). The depth is
 * checked first: serialising a deeply nested value would overflow the stack.
 */
export function metadataWithinLimit(metadata: Record<string, unknown> | undefined): boolean {
  if (metadata === undefined) return true;
  return (
    nestingWithin(metadata, ActivityLimits.metadataMaxDepth) &&
    Buffer.byteLength(JSON.stringify(metadata)) <= ActivityLimits.metadataMaxBytes
  );
}

export const ActivityData = z.strictObject({
  actorId: PositiveId,
  verb: Token,
  object: ActivityObject,
  workspaceId: PositiveId,
  target: ActivityObject.optional(),
  metadata: z
    .record(z.string(), z.unknown())
    .optional()
    .refine(metadataWithinLimit, {
      message: `metadata must be at most ${ActivityLimits.metadataMaxBytes} bytes of JSON, nested at most ${ActivityLimits.metadataMaxDepth} deep`,
    }),
  notify: Notify.optional(),
});
export type ActivityData = z.infer<typeof ActivityData>;

/** An activity event on `activity.events`; `subject` is the user the activity belongs to. */
export const ActivityEvent = cloudEvent(ACTIVITY_EVENT_TYPE, ActivityData);
export type ActivityEvent = z.infer<typeof ActivityEvent>;

/**
 * `ActivityEvent` as JSON Schema (2020-12), derived from the zod schema, for compiled validators
 * on hot paths. Everything but the metadata size is in it: check that with `metadataWithinLimit`.
 */
export function activityEventJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ActivityEvent) as Record<string, unknown>;
}

/** An activity as the read API and the stream return it. */
export const Activity = z.object({
  id: z.string(),
  userId: z.number().int(),
  time: z.string(),
  source: z.string(),
  actorId: z.number().int(),
  verb: z.string(),
  object: ActivityObject,
  workspaceId: z.number().int(),
  target: ActivityObject.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type Activity = z.infer<typeof Activity>;

/** Maps a validated event to its read model (`timeMs`: its `time` parsed, when the caller has it already). */
export function toActivity(event: ActivityEvent, timeMs = Date.parse(event.time)): Activity {
  const { data } = event;
  return {
    id: event.id,
    userId: Number(event.subject),
    time: new Date(timeMs).toISOString(),
    source: event.source,
    actorId: data.actorId,
    verb: data.verb,
    object: data.object,
    workspaceId: data.workspaceId,
    ...(data.target ? { target: data.target } : {}),
    ...(data.metadata ? { metadata: data.metadata } : {}),
  };
}

export const ActivityPage = z.object({
  results: z.array(Activity),
  next: z.string().nullable(),
});
export type ActivityPage = z.infer<typeof ActivityPage>;

/**
 * The UTF-8 JSON of an `ActivityPage` from activities already serialised (`results`: the
 * activities' UTF-8 JSON as the projection stores them, comma-separated): a page is answered
 * without decoding, parsing and re-serialising each activity.
 */
export function activityPageJson(results: Uint8Array, next: string | null): Buffer {
  // Buffer only inside functions: browsers load this module too (the stream client), without one.
  return Buffer.concat([
    Buffer.from('{"results":['),
    results,
    Buffer.from(`],"next":${JSON.stringify(next)}}`),
  ]);
}

export const ActivityPageQuery = z.strictObject({
  limit: queryInteger(ActivityLimits.pageMaxItems).optional(),
  cursor: z.string().regex(FEED_CURSOR, 'not a cursor this API issued').optional(),
  workspaceId: queryInteger(Number.MAX_SAFE_INTEGER).optional(),
});

export const ActiveWorkspacesQuery = z.strictObject({
  days: queryInteger(ActivityLimits.activeWorkspacesMaxDays).optional(),
});

export const ActivityCount = z.object({ userId: z.number().int(), count: z.number().int() });
export type ActivityCount = z.infer<typeof ActivityCount>;

/** A batch of activity events, as POST /activities and the CloudEvents batch mode take it. */
export const ActivityBatch = z.array(ActivityEvent).min(1).max(ActivityLimits.batchMaxItems);

/** Validates a POST /activities body (one event or a batch) with a detail per invalid item. */
export function parseActivityBatch(
  body: unknown,
):
  | { ok: true; events: ActivityEvent[] }
  | { ok: false; details: { path: string; message: string; code?: string }[] } {
  const isBatch = Array.isArray(body);
  const items: unknown[] = isBatch ? body : [body];
  if (isBatch && (items.length === 0 || items.length > ActivityLimits.batchMaxItems)) {
    return {
      ok: false,
      details: [
        {
          path: 'body',
          message: `send between 1 and ${ActivityLimits.batchMaxItems} events`,
          code: 'too_big',
        },
      ],
    };
  }
  const events: ActivityEvent[] = [];
  const details: { path: string; message: string; code?: string }[] = [];
  items.forEach((item, i) => {
    const result = ActivityEvent.safeParse(item);
    if (result.success) events.push(result.data);
    else details.push(...toErrorDetails(result.error, isBatch ? `body.${i}` : 'body'));
  });
  return details.length > 0 ? { ok: false, details } : { ok: true, events };
}

export const ActivityIngestAccepted = z.object({
  accepted: z.number().int(),
  ids: z.array(z.string()),
});
export type ActivityIngestAccepted = z.infer<typeof ActivityIngestAccepted>;

export const ActiveWorkspace = z.object({
  workspace: z.object({ id: z.number().int(), name: z.string() }),
  role: z.enum(['viewer', 'member', 'admin']),
  lastActiveAt: z.string(),
  activityCount: z.number().int(),
});
export type ActiveWorkspace = z.infer<typeof ActiveWorkspace>;
