import { UsersEventType, type User } from '@suite/contracts';
import { outboxEntry, type OutboxEntry } from '../data-access/outbox.js';

const SOURCE = '/users-service';

type EventType = (typeof UsersEventType)[keyof typeof UsersEventType];

/** An outbox entry holding a complete CloudEvent for `users.events`, keyed by user id. */
export function eventEntry(type: EventType, subject: number, data: Record<string, unknown>, now: Date): OutboxEntry {
  const entry = outboxEntry({
    kind: 'event',
    topic: 'users.events',
    key: String(subject),
    event: { specversion: '1.0', id: '', source: SOURCE, type, time: now.toISOString(), subject: String(subject), datacontenttype: 'application/json', data },
  });
  // The event id is the entry id: stable across relay retries, so consumers can deduplicate.
  if (entry.kind === 'event') entry.event.id = entry.id;
  return entry;
}

/** An outbox entry asking the relay to publish the current access set of these users (or a group's members). */
export function accessEntry(userIds: number[], groupId?: number): OutboxEntry {
  return outboxEntry({ kind: 'access', userIds, ...(groupId !== undefined ? { groupId } : {}) });
}

export const userCreated = (user: User, version: number, now: Date) => eventEntry(UsersEventType.userCreated, user.id, { user, version }, now);
export const userUpdated = (user: User, version: number, now: Date) => eventEntry(UsersEventType.userUpdated, user.id, { user, version }, now);
export const userDeleted = (userId: number, now: Date) => eventEntry(UsersEventType.userDeleted, userId, { userId }, now);
export const workspaceRenamed = (workspaceId: number, name: string, version: number, now: Date) =>
  eventEntry(UsersEventType.workspaceRenamed, workspaceId, { workspaceId, name, version }, now);
export const workspaceDeleted = (workspaceId: number, now: Date) =>
  eventEntry(UsersEventType.workspaceDeleted, workspaceId, { workspaceId }, now);
