import { AppError } from '@suite/contracts';
import type { AccessRepository, GroupDoc, WorkspaceDoc } from '../data-access/access.repository.js';
import type { UsersRepository } from '../data-access/users.repository.js';

/** The lookups the access use cases share: a missing resource the path names is 404; one a body names is 409. */
export function accessLookups(access: AccessRepository, users: UsersRepository) {
  return {
    async workspace(id: number): Promise<WorkspaceDoc> {
      const w = await access.liveWorkspaces.find(id);
      if (!w) throw new AppError('not_found', `workspace ${id} not found`);
      return w;
    },
    async group(id: number): Promise<GroupDoc> {
      const g = await access.liveGroups.find(id);
      if (!g) throw new AppError('not_found', `group ${id} not found`);
      return g;
    },
    async user(id: number): Promise<void> {
      if (!(await users.findById(id))) throw new AppError('not_found', `user ${id} not found`);
    },
    /**
     * A user or group a request body names must exist: 409 (the request conflicts with the current
     * state) naming the field; 404 is kept for the resource the path names.
     */
    async referenced(subject: { userId: number } | { groupId: number }): Promise<void> {
      const [field, id] =
        'userId' in subject
          ? (['userId', subject.userId] as const)
          : (['groupId', subject.groupId] as const);
      const exists =
        field === 'userId' ? await users.findById(id) : await access.liveGroups.find(id);
      const what = `no ${field === 'userId' ? 'user' : 'group'} ${id}`;
      if (!exists)
        throw new AppError('conflict', what, [
          { path: `body.${field}`, message: what, code: 'not_found' },
        ]);
    },
  };
}
export type AccessLookups = ReturnType<typeof accessLookups>;
