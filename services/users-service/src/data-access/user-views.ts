import type { User, UserProfile } from '@suite/contracts';
import type { UserDoc } from './users.repository.js';

/** A stored user as the directory (list, search) shows it. */
export function toUser(doc: UserDoc): User {
  return {
    id: doc._id,
    username: doc.username,
    email: doc.email,
    firstName: doc.firstName,
    lastName: doc.lastName,
    isActive: doc.isActive,
  };
}

/** A stored user as its full profile. */
export function toProfile(doc: UserDoc): UserProfile {
  return {
    ...toUser(doc),
    roles: doc.roles,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}
