import type { AccessRepository } from '../data-access/access.repository.js';
import type { UsersRepository } from '../data-access/users.repository.js';
import { accessLookups } from './access.lookups.js';
import { groupUseCases } from './groups.use-cases.js';
import { permissionUseCases } from './permissions.use-cases.js';
import { workspaceUseCases } from './workspaces.use-cases.js';

/** Workspaces, groups, permissions and effective access: one use-case file each, one object for the routers. */
export function accessUseCases(access: AccessRepository, users: UsersRepository, kick: () => void) {
  const find = accessLookups(access, users);
  return {
    ...workspaceUseCases(access, find, kick),
    ...groupUseCases(access, find, kick),
    ...permissionUseCases(access, find, kick),
  };
}
export type AccessUseCases = ReturnType<typeof accessUseCases>;
