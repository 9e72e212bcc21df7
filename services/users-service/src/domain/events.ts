import { UsersEvent, UsersEventType, type User } from '@suite/contracts';
import { outboxEntry, type OutboxEntry } from '../data-access/outbox.js';

const SOURCE = '/users-service';

type EventType = UsersEvent['type'];
type DataOf<T extends EventType> = Extract<UsersEvent, { type: T }>['data'];

/**
 * A `users.events` CloudEvent: the one place its envelope is built, checked against the contract
 * (`UsersEvent`) before it is stored or sent, so a malformed event fails at its writer.
 */
export function usersEvent<T extends EventType>(
  type: T,
  id: string,
  subject: number,
  data: DataOf<T>,
  time: Date,
): UsersEvent {
  return UsersEvent.parse({
    specversion: '1.0',
    id,
    source: SOURCE,
    type,
    time: time.toISOString(),
    subject: String(subject),
    datacontenttype: 'application/json',
    data,
  });
}

/** An outbox entry holding a complete CloudEvent for `users.events`, keyed by user id. */
export function eventEntry<T extends EventType>(
  type: T,
  subject: number,
  data: DataOf<T>,
  now: Date,
): OutboxEntry {
  const entry = outboxEntry({
    kind: 'event',
    topic: 'users.events',
    key: String(subject),
    event: {},
  });
  // The event id is the entry id: stable across relay retries, so consumers can deduplicate.
  if (entry.kind === 'event') entry.event = usersEvent(type, entry.id, subject, data, now);
  return entry;
}

/** An outbox entry asking the relay to publish the current access set of these users (or a group's members). */
export function accessEntry(userIds: number[], groupId?: number): OutboxEntry {
  return outboxEntry({ kind: 'access', userIds, ...(groupId !== undefined ? { groupId } : {}) });
}

export const userCreated = (user: User, version: number, now: Date) =>
  eventEntry(UsersEventType.userCreated, user.id, { user, version }, now);
export const userUpdated = (user: User, version: number, now: Date) =>
  eventEntry(UsersEventType.userUpdated, user.id, { user, version }, now);
export const userDeleted = (userId: number, now: Date) =>
  eventEntry(UsersEventType.userDeleted, userId, { userId }, now);
export const workspaceRenamed = (workspaceId: number, name: string, version: number, now: Date) =>
  eventEntry(UsersEventType.workspaceRenamed, workspaceId, { workspaceId, name, version }, now);
export const workspaceDeleted = (workspaceId: number, now: Date) =>
  eventEntry(UsersEventType.workspaceDeleted, workspaceId, { workspaceId }, now);
