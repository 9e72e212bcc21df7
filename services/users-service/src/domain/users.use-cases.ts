import { AppError, type User, type UserProfile } from '@suite/contracts';
import { isAdmin, type Principal } from '@suite/auth';
import { UniqueViolation, WriteContention } from '../data-access/errors.js';
import {
  versionOf,
  type UserDoc,
  type UserFields,
  type UsersRepository,
} from '../data-access/users.repository.js';
import type { AccessRepository } from '../data-access/access.repository.js';
import type { Revoke } from '../data-access/revocations.js';
import type { Logger } from '@suite/logger';
import type { Directory } from '../directory/directory.js';
import type { DirectoryFollower } from '../directory/follower.js';
import { entryOf } from '../directory/snapshot.js';
import { userCreated, userDeleted, userUpdated } from './events.js';
import { toUser } from '../data-access/user-views.js';

function conflict(err: unknown): never {
  if (err instanceof WriteContention)
    throw new AppError(
      'unavailable',
      `the user kept changing on other replicas for ${err.ms} ms; try again`,
    );
  if (err instanceof UniqueViolation) {
    const field = err.field === 'email' ? 'email' : 'username';
    throw new AppError('conflict', `a user with this ${field} already exists`, [
      { path: `body.${field}`, message: 'already taken', code: 'conflict' },
    ]);
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

/** A keyset page: the users after (or before) an id, and whether more lie beyond each end. */
export interface UsersSlice {
  results: User[];
  hasNext: boolean;
  hasPrevious: boolean;
}

export interface UsersUseCases {
  list(page: number, pageSize: number): Promise<{ count: number; results: User[] }>;
  /** Keyset pages: O(page) however deep, for clients that walk the whole directory. */
  listFrom(from: { after: number } | { before: number }, pageSize: number): Promise<UsersSlice>;
  search(q: string, page: number, pageSize: number): Promise<{ count: number; results: User[] }>;
  get(id: number): Promise<Versioned>;
  create(fields: Partial<UserFields> & Omit<UserFields, 'isActive' | 'roles'>): Promise<Versioned>;
  replace(
    caller: Principal,
    id: number,
    fields: Partial<UserFields>,
    ifMatch?: Precondition,
  ): Promise<Versioned>;
  patch(
    caller: Principal,
    id: number,
    fields: Partial<UserFields>,
    ifMatch?: Precondition,
  ): Promise<Versioned>;
  remove(id: number, ifMatch?: Precondition): Promise<void>;
}

const ADMIN_ONLY = ['isActive', 'roles'] as const;

function checkPrecondition(doc: UserDoc, ifMatch: Precondition | undefined): void {
  if (ifMatch === undefined || ifMatch === '*') return;
  if (!ifMatch.includes(versionOf(doc))) {
    throw new AppError(
      'precondition_failed',
      `user ${doc._id} is at version ${versionOf(doc)}, not the one If-Match names`,
    );
  }
}

/**
 * Puts a user this replica just wrote into the shared directory before answering: every replica
 * reads it from then on. Should Redis fail here, the write stands (MongoDB holds it) and the
 * follower applies it when users.events announces it.
 */
async function intoDirectory(directory: Directory, doc: UserDoc, log: Logger): Promise<Versioned> {
  const entry = entryOf(doc);
  await directory
    .apply(entry)
    .catch((err: unknown) =>
      log.warn(
        { err, userId: entry.user.id },
        'could not write the user into the directory; the follower will',
      ),
    );
  return { profile: entry.profile, version: entry.version };
}

/** Only an admin may change `isActive` and `roles`: 403 naming each such field. */
function assertMayChange(caller: Principal, fields: Partial<UserFields>): void {
  const forbidden = ADMIN_ONLY.filter((f) => f in fields);
  if (forbidden.length > 0 && !isAdmin(caller)) {
    throw new AppError(
      'forbidden',
      'only an admin may change these fields',
      forbidden.map((f) => ({ path: `body.${f}`, message: 'admin only', code: 'forbidden' })),
    );
  }
}

/** A keyset page of the directory from `from`, and whether the walk goes on either way. */
async function walk(
  directory: Directory,
  from: { after: number } | { before: number },
  pageSize: number,
): Promise<{ results: User[]; hasNext: boolean; hasPrevious: boolean }> {
  // One more than asked tells whether the walk goes on in its direction.
  const entries = await directory.around(pageSize + 1, from);
  const forward = 'after' in from;
  const more = entries.length > pageSize;
  const page = forward
    ? entries.slice(0, pageSize)
    : entries.slice(entries.length - Math.min(entries.length, pageSize));
  const first = page[0]?.user.id;
  const last = page.at(-1)?.user.id;
  // The other end: is there anything before the first (walking forward) or after the last (walking back)?
  const beyond = forward
    ? first !== undefined && (await directory.around(1, { before: first })).length > 0
    : last !== undefined && (await directory.around(1, { after: last })).length > 0;
  return {
    results: page.map((e) => e.user),
    hasNext: forward ? more : beyond,
    hasPrevious: forward ? beyond : more,
  };
}

/**
 * The reads, from the directory (the read model in Redis every replica shares); refused with 503
 * until the follower has built it.
 */
function directoryReads(
  follower: DirectoryFollower,
): Pick<UsersUseCases, 'list' | 'listFrom' | 'search' | 'get'> {
  const { directory } = follower;
  function loaded(): void {
    if (!follower.ready)
      throw new AppError(
        'unavailable',
        'the user directory is still being built; try again shortly',
      );
  }
  return {
    async list(page, pageSize) {
      loaded();
      const [count, entries] = await Promise.all([
        directory.size(),
        directory.page((page - 1) * pageSize, pageSize),
      ]);
      return { count, results: entries.map((e) => e.user) };
    },

    async listFrom(from, pageSize) {
      loaded();
      return walk(directory, from, pageSize);
    },

    async search(q, page, pageSize) {
      loaded();
      const { count, results } = await directory.search(q, (page - 1) * pageSize, pageSize);
      return { count, results: results.map((e) => e.user) };
    },

    async get(id) {
      loaded();
      // Every replica writes what it changed into the directory before answering: a user missing there does not exist.
      const entry = await directory.get(id);
      if (!entry) throw new AppError('not_found', `user ${id} not found`);
      return { profile: entry.profile, version: entry.version };
    },
  };
}

/**
 * Users use cases: decisions live here; the repositories only store. Reads come from the
 * directory (the read model in Redis every replica shares); writes are compare-and-sets on the
 * stored version, read again and retried when another write got there first, so concurrent changes
 * to different fields all survive.
 */
export function usersUseCases(
  users: UsersRepository,
  access: AccessRepository,
  follower: DirectoryFollower,
  kick: (userId?: number) => void,
  revoke: Revoke,
  log: Logger,
): UsersUseCases {
  const { directory } = follower;
  const applied = (doc: UserDoc) => intoDirectory(directory, doc, log);

  async function write(
    caller: Principal,
    id: number,
    fields: Partial<UserFields>,
    ifMatch?: Precondition,
  ): Promise<Versioned> {
    assertMayChange(caller, fields);
    const now = new Date();
    const decide = (current: UserDoc) => (checkPrecondition(current, ifMatch), fields);
    const updated = await users
      .update(id, decide, now, (doc) => [userUpdated(toUser(doc), versionOf(doc), now)])
      .catch(conflict);
    if (!updated) throw new AppError('not_found', `user ${id} not found`);
    // Deactivating refuses the user's tokens on every service at once (reactivating accepts them again).
    if ('isActive' in fields) await revoke(id, !updated.isActive);
    kick(id);
    return applied(updated);
  }

  return {
    ...directoryReads(follower),

    async create(fields) {
      const id = await users.nextId();
      const now = new Date();
      const full: UserFields = { isActive: true, roles: [], ...fields };
      const doc = await users
        .insert(id, full, now, (d) => [userCreated(toUser(d), versionOf(d), now)])
        .catch(conflict);
      kick(id);
      return applied(doc);
    },

    replace: write,
    patch: write,

    async remove(id, ifMatch) {
      const now = new Date();
      const decide = (current: UserDoc) => checkPrecondition(current, ifMatch);
      const removed = await users
        .markDeleted(id, decide, now, [userDeleted(id, now)])
        .catch(conflict);
      if (!removed) throw new AppError('not_found', `user ${id} not found`);
      await directory.remove(id).catch((err: unknown) => {
        log.warn(
          { err, userId: id },
          'could not remove the user from the directory; the follower will',
        );
      });
      await revoke(id, true);
      // Cascade; the relay repeats it before purging, so a crash here loses nothing.
      await Promise.all([access.deleteUserPermissions(id), access.removeUserFromAllGroups(id)]);
      kick(id);
    },
  };
}
