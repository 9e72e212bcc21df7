import { AppError } from '@suite/contracts';
import type { AccessRepository, GroupDoc } from '../data-access/access.repository.js';
import { UniqueViolation } from '../data-access/errors.js';
import type { AccessLookups } from './access.lookups.js';
import { accessEntry } from './events.js';

export const toGroup = (g: GroupDoc) => ({
  id: g._id,
  name: g.name,
  members: g.members,
  createdAt: g.createdAt.toISOString(),
  updatedAt: g.updatedAt.toISOString(),
});

/** Groups and their members; a membership change announces the member's new access. */
export function groupUseCases(access: AccessRepository, find: AccessLookups, kick: () => void) {
  return {
    async createGroup(name: string) {
      const now = new Date();
      const doc: GroupDoc = {
        _id: await access.nextId('groups'),
        name,
        members: [],
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      };
      await access.insertGroup(doc).catch((err: unknown) => {
        if (err instanceof UniqueViolation)
          throw new AppError('conflict', 'a group with this name already exists');
        throw err;
      });
      return toGroup(doc);
    },
    async listGroups(page: number, pageSize: number) {
      const { count, docs } = await access.liveGroups.page((page - 1) * pageSize, pageSize);
      return { count, results: docs.map(toGroup) };
    },
    getGroup: async (id: number) => toGroup(await find.group(id)),
    async deleteGroup(id: number) {
      const g = await find.group(id);
      if (!(await access.markGroupDeleted(id, new Date(), [accessEntry(g.members)])))
        throw new AppError('not_found', `group ${id} not found`);
      kick();
    },
    async addMember(groupId: number, userId: number) {
      await find.group(groupId);
      await find.referenced({ userId });
      const result = await access.changeMembership(groupId, userId, 'add', new Date(), [
        accessEntry([userId]),
      ]);
      if (result === 'missing') throw new AppError('not_found', `group ${groupId} not found`);
      kick();
      return toGroup(await find.group(groupId));
    },
    async removeMember(groupId: number, userId: number) {
      const result = await access.changeMembership(groupId, userId, 'remove', new Date(), [
        accessEntry([userId]),
      ]);
      if (result === 'missing') throw new AppError('not_found', `group ${groupId} not found`);
      if (result === 'unchanged')
        throw new AppError('not_found', `user ${userId} is not a member of group ${groupId}`);
      kick();
    },
  };
}
