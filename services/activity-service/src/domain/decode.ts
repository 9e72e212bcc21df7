import { ActivityEvent, ActivityLimits, TRACEPARENT, feedEntry, feedMember, toActivity, type ActivityEvent as ActivityEventType } from '@suite/contracts';
import type { ActivityWrite } from '../data-access/projection.store.js';

export type DeadLetterReason = 'malformed_json' | 'schema_invalid' | 'oversized' | 'empty';

export type Decoded =
  | { ok: true; event: ActivityEventType }
  | { ok: false; reason: DeadLetterReason; detail: string };

/** Classifies one Kafka record value: a valid activity event, or why it is a dead letter. */
export function decodeActivity(value: Buffer | null): Decoded {
  if (!value || value.length === 0) return { ok: false, reason: 'empty', detail: 'record has no value' };
  if (value.length > ActivityLimits.eventMaxBytes) {
    return { ok: false, reason: 'oversized', detail: `${value.length} bytes > ${ActivityLimits.eventMaxBytes}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'malformed_json', detail: (err as Error).message.slice(0, 200) };
  }
  const result = ActivityEvent.safeParse(parsed);
  if (!result.success) {
    const first = result.error.issues[0];
    return { ok: false, reason: 'schema_invalid', detail: `${first?.path.join('.') || '(root)'}: ${first?.message}`.slice(0, 200) };
  }
  return { ok: true, event: result.data };
}

/** The strings the projection script stores for one event. */
export function toWrite(event: ActivityEventType, offset: string, seenAt: number, traceparent?: string): ActivityWrite {
  return {
    offset,
    userId: Number(event.subject),
    eventId: event.id,
    seenAt,
    workspaceId: event.data.workspaceId,
    entry: feedEntry(feedMember(event.time, event.id), JSON.stringify(toActivity(event))),
    // Only a well-formed W3C traceparent travels on (it shares the live message with entries).
    traceparent: traceparent !== undefined && TRACEPARENT.test(traceparent) ? traceparent : '',
  };
}
