import { AppError, type User, type UserProfile } from '@suite/contracts';
import { isAdmin, type Principal } from '@suite/auth';
import { UniqueViolation, WriteContention } from '../data-access/errors.js';
import { versionOf, type UserDoc, type UserFields, type UsersRepository } from '../data-access/users.repository.js';
import type { AccessRepository } from '../data-access/access.repository.js';
import type { Revoke } from '../data-access/revocations.js';
import type { DirectoryFollower } from '../directory/follower.js';
import { entryOf } from '../directory/follower.js';
import { userCreated, userDeleted, userUpdated } from './events.js';
import { toUser } from './user-views.js';

function conflict(err: unknown): never {
  if (err instanceof WriteContention) throw new AppError('unavailable', `the user kept changing on other replicas for ${err.ms} ms; try again`);
  if (err instanceof UniqueViolation) {
    const field = err.field === 'email' ? 'email' : 'username';
    throw new AppError('conflict', `a user with this ${field} already exists`, [{ path: `body.${field}`, message: 'already taken', code: 'conflict' }]);
  }
  throw err;
}

/** A user's profile and the version it is at (the `ETag`). */
export interface Versioned {
  profile: UserProfile;
  version: number;
}

/** What `If-Match` asked for: any version (`*`), or one of these. */
export type Precondition = '*' | readonly number[];

export interface UsersUseCases {
  list(page: number, pageSize: number): Promise<{ count: number; results: User[] }>;
  search(q: string, page: number, pageSize: number): Promise<{ count: number; results: User[] }>;
  get(id: number): Promise<Versioned>;
  create(fields: Partial<UserFields> & Omit<UserFields, 'isActive' | 'roles'>): Promise<Versioned>;
  replace(caller: Principal, id: number, fields: Partial<UserFields>, ifMatch?: Precondition): Promise<Versioned>;
  patch(caller: Principal, id: number, fields: Partial<UserFields>, ifMatch?: Precondition): Promise<Versioned>;
  remove(id: number, ifMatch?: Precondition): Promise<void>;
}

const ADMIN_ONLY = ['isActive', 'roles'] as const;

function checkPrecondition(doc: UserDoc, ifMatch: Precondition | undefined): void {
  if (ifMatch === undefined || ifMatch === '*') return;
  if (!ifMatch.includes(versionOf(doc))) {
    throw new AppError('precondition_failed', `user ${doc._id} is at version ${versionOf(doc)}, not the one If-Match names`);
  }
}

/**
 * Users use cases: decisions live here; the repositories only store. Reads come from the
 * directory (this replica's read model); writes are compare-and-sets on the stored version,
 * read again and retried when another write got there first, so concurrent changes to
 * different fields all survive.
 */
export function usersUseCases(users: UsersRepository, access: AccessRepository, follower: DirectoryFollower, kick: () => void, revoke: Revoke): UsersUseCases {
  const { directory } = follower;

  function loaded(): void {
    if (!follower.ready) throw new AppError('unavailable', 'the user directory is still loading; try again shortly');
  }

  /** Puts a user this replica just wrote into its directory: read-your-writes here, the others hear of it on users.events. */
  function applied(doc: UserDoc): Versioned {
    const entry = entryOf(doc);
    directory.apply(entry);
    return { profile: entry.profile, version: entry.version };
  }

  async function write(caller: Principal, id: number, fields: Partial<UserFields>, ifMatch?: Precondition): Promise<Versioned> {
    const forbidden = ADMIN_ONLY.filter((f) => f in fields);
    if (forbidden.length > 0 && !isAdmin(caller)) {
      throw new AppError('forbidden', 'only an admin may change these fields', forbidden.map((f) => ({ path: `body.${f}`, message: 'admin only', code: 'forbidden' })));
    }
    const now = new Date();
    const decide = (current: UserDoc) => {
      checkPrecondition(current, ifMatch);
      return fields;
    };
    const updated = await users.update(id, decide, now, (doc) => [userUpdated(toUser(doc), now)]).catch(conflict);
    if (!updated) throw new AppError('not_found', `user ${id} not found`);
    // Deactivating refuses the user's tokens on every service at once (reactivating accepts them again).
    if ('isActive' in fields) await revoke(id, !updated.isActive);
    kick();
    return applied(updated);
  }

  return {
    async list(page, pageSize) {
      loaded();
      return { count: directory.size, results: directory.page((page - 1) * pageSize, pageSize).map((e) => e.user) };
    },

    async search(q, page, pageSize) {
      loaded();
      const { count, results } = directory.search(q, (page - 1) * pageSize, pageSize);
      return { count, results: results.map((e) => e.user) };
    },

    async get(id) {
      loaded();
      // A user this replica has not heard of yet (created elsewhere a moment ago) is read from MongoDB.
      const entry = directory.get(id) ?? (await follower.refresh(id));
      if (!entry) throw new AppError('not_found', `user ${id} not found`);
      return { profile: entry.profile, version: entry.version };
    },

    async create(fields) {
      const id = await users.nextId();
      const now = new Date();
      const full: UserFields = { isActive: true, roles: [], ...fields };
      const doc = await users.insert(id, full, now, (d) => [userCreated(toUser(d), now)]).catch(conflict);
      kick();
      return applied(doc);
    },

    replace: write,
    patch: write,

    async remove(id, ifMatch) {
      const now = new Date();
      if (!(await users.markDeleted(id, (current) => checkPrecondition(current, ifMatch), now, [userDeleted(id, now)]).catch(conflict))) throw new AppError('not_found', `user ${id} not found`);
      directory.remove(id);
      await revoke(id, true);
      // Cascade; the relay repeats it before purging, so a crash here loses nothing.
      await Promise.all([access.deleteUserPermissions(id), access.removeUserFromAllGroups(id)]);
      kick();
    },
  };
}
