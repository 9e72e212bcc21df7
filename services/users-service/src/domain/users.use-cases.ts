import { AppError, type User, type UserProfile } from '@suite/contracts';
import { isAdmin, type Principal } from '@suite/auth';
import { UniqueViolation } from '../data-access/errors.js';
import type { UserDoc, UserFields, UsersRepository } from '../data-access/users.repository.js';
import type { AccessRepository } from '../data-access/access.repository.js';
import { userCreated, userDeleted, userUpdated } from './events.js';
import { searchUsers } from './search.js';
import { toProfile, toUser } from './user-views.js';


function conflict(err: unknown): never {
  if (err instanceof UniqueViolation) {
    const field = err.field === 'email' ? 'email' : 'username';
    throw new AppError('conflict', `a user with this ${field} already exists`, [{ path: `body.${field}`, message: 'already taken', code: 'conflict' }]);
  }
  throw err;
}

export interface UsersUseCases {
  list(page: number, pageSize: number): Promise<{ count: number; results: User[] }>;
  search(q: string, page: number, pageSize: number): Promise<{ count: number; results: User[] }>;
  get(id: number): Promise<UserProfile>;
  create(fields: Partial<UserFields> & Omit<UserFields, 'isActive' | 'roles'>): Promise<UserProfile>;
  replace(caller: Principal, id: number, fields: Partial<UserFields>): Promise<UserProfile>;
  patch(caller: Principal, id: number, fields: Partial<UserFields>): Promise<UserProfile>;
  remove(id: number): Promise<void>;
}

const ADMIN_ONLY = ['isActive', 'roles'] as const;

/** Users use cases: decisions live here; the repositories only store. */
export function usersUseCases(users: UsersRepository, access: AccessRepository, kick: () => void): UsersUseCases {
  async function load(id: number): Promise<UserDoc> {
    const doc = await users.findById(id);
    if (!doc) throw new AppError('not_found', `user ${id} not found`);
    return doc;
  }

  async function write(caller: Principal, id: number, fields: Partial<UserFields>): Promise<UserProfile> {
    const forbidden = ADMIN_ONLY.filter((f) => f in fields);
    if (forbidden.length > 0 && !isAdmin(caller)) {
      throw new AppError('forbidden', 'only an admin may change these fields', forbidden.map((f) => ({ path: `body.${f}`, message: 'admin only', code: 'forbidden' })));
    }
    const now = new Date();
    const updated = await users.update(id, fields, now, (doc) => [userUpdated(toUser(doc), now)]).catch(conflict);
    if (!updated) throw new AppError('not_found', `user ${id} not found`);
    kick();
    return toProfile(updated);
  }

  return {
    async list(page, pageSize) {
      const [count, docs] = await Promise.all([users.countLive(), users.page((page - 1) * pageSize, pageSize)]);
      return { count, results: docs.map(toUser) };
    },

    search: (q, page, pageSize) => searchUsers(users, q, page, pageSize),

    async get(id) {
      return toProfile(await load(id));
    },

    async create(fields) {
      const id = await users.nextId();
      const now = new Date();
      const full: UserFields = { isActive: true, roles: [], ...fields };
      const doc = await users.insert(id, full, now, (d) => [userCreated(toUser(d), now)]).catch(conflict);
      kick();
      return toProfile(doc);
    },

    replace: write,
    patch: write,

    async remove(id) {
      const now = new Date();
      const marked = await users.markDeleted(id, now, [userDeleted(id, now)]);
      if (!marked) throw new AppError('not_found', `user ${id} not found`);
      // Cascade; the relay repeats it before purging, so a crash here loses nothing.
      await Promise.all([access.deleteUserPermissions(id), access.removeUserFromAllGroups(id)]);
      kick();
    },
  };
}
