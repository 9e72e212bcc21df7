import { z } from 'zod';
import { cloudEvent } from './cloudevents.js';
import { Role, User } from './users.js';

export const UsersEventType = {
  userCreated: 'io.activitysuite.user.created',
  userUpdated: 'io.activitysuite.user.updated',
  userDeleted: 'io.activitysuite.user.deleted',
  accessChanged: 'io.activitysuite.user.access-changed',
  workspaceRenamed: 'io.activitysuite.workspace.renamed',
  workspaceDeleted: 'io.activitysuite.workspace.deleted',
} as const;

/** The complete set of workspaces a user can reach, so a replica needs no callback. */
export const AccessSet = z.array(
  z.object({ workspaceId: z.number().int(), name: z.string(), role: Role }),
);
export type AccessSet = z.infer<typeof AccessSet>;

/** `version` is the user's version this change wrote (the profile's ETag); absent on records written before it was sent. */
const UserChange = z.object({ user: User, version: z.number().int().positive().optional() });
export const UserCreatedEvent = cloudEvent(UsersEventType.userCreated, UserChange);
export const UserUpdatedEvent = cloudEvent(UsersEventType.userUpdated, UserChange);
export const UserDeletedEvent = cloudEvent(
  UsersEventType.userDeleted,
  z.object({ userId: z.number().int() }),
);
export const AccessChangedEvent = cloudEvent(
  UsersEventType.accessChanged,
  z.object({ userId: z.number().int(), version: z.number().int(), workspaces: AccessSet }),
);
export const WorkspaceRenamedEvent = cloudEvent(
  UsersEventType.workspaceRenamed,
  // `version` rises with every rename: a replayed (older) rename is ignored. Absent on records written before versions.
  z.object({
    workspaceId: z.number().int(),
    name: z.string(),
    version: z.number().int().optional(),
  }),
);
export const WorkspaceDeletedEvent = cloudEvent(
  UsersEventType.workspaceDeleted,
  z.object({ workspaceId: z.number().int() }),
);

/** Any event on `users.events`, discriminated by `type`. */
export const UsersEvent = z.discriminatedUnion('type', [
  UserCreatedEvent,
  UserUpdatedEvent,
  UserDeletedEvent,
  AccessChangedEvent,
  WorkspaceRenamedEvent,
  WorkspaceDeletedEvent,
]);
export type UsersEvent = z.infer<typeof UsersEvent>;
