import { AppError, type Role } from '@suite/contracts';
import { UniqueViolation } from '../data-access/errors.js';
import type { AccessRepository, GroupDoc, PermissionDoc, WorkspaceDoc } from '../data-access/access.repository.js';
import type { UsersRepository } from '../data-access/users.repository.js';
import { accessEntry, workspaceDeleted, workspaceRenamed } from './events.js';
import { effectiveWorkspaces } from './effective-access.js';

export const toWorkspace = (w: WorkspaceDoc) => ({ id: w._id, name: w.name, createdAt: w.createdAt.toISOString(), updatedAt: w.updatedAt.toISOString() });
export const toGroup = (g: GroupDoc) => ({ id: g._id, name: g.name, members: g.members, createdAt: g.createdAt.toISOString(), updatedAt: g.updatedAt.toISOString() });
export const toPermission = (p: PermissionDoc) => ({
  id: p._id,
  workspaceId: p.workspaceId,
  ...(p.userId !== null ? { userId: p.userId } : {}),
  ...(p.groupId !== null ? { groupId: p.groupId } : {}),
  role: p.role,
  createdAt: p.createdAt.toISOString(),
});

/** Workspaces, groups, permissions and effective access. */
export function accessUseCases(access: AccessRepository, users: UsersRepository, kick: () => void) {
  async function workspace(id: number): Promise<WorkspaceDoc> {
    const w = await access.findWorkspace(id);
    if (!w) throw new AppError('not_found', `workspace ${id} not found`);
    return w;
  }
  async function group(id: number): Promise<GroupDoc> {
    const g = await access.findGroup(id);
    if (!g) throw new AppError('not_found', `group ${id} not found`);
    return g;
  }
  async function user(id: number): Promise<void> {
    if (!(await users.findById(id))) throw new AppError('not_found', `user ${id} not found`);
  }
  /**
   * A user or group a request body names must exist: 409 (the request conflicts with the current
   * state) naming the field; 404 is kept for the resource the path names.
   */
  async function referenced(subject: { userId: number } | { groupId: number }): Promise<void> {
    const [field, id] = 'userId' in subject ? (['userId', subject.userId] as const) : (['groupId', subject.groupId] as const);
    const exists = field === 'userId' ? await users.findById(id) : await access.findGroup(id);
    if (!exists) throw new AppError('conflict', `no ${field === 'userId' ? 'user' : 'group'} ${id}`, [{ path: `body.${field}`, message: `no ${field === 'userId' ? 'user' : 'group'} ${id}`, code: 'not_found' }]);
  }

  return {
    async createWorkspace(name: string) {
      const now = new Date();
      const doc: WorkspaceDoc = { _id: await access.nextId('workspaces'), name, createdAt: now, updatedAt: now, deletedAt: null };
      await access.insertWorkspace(doc);
      return toWorkspace(doc);
    },
    async listWorkspaces(page: number, pageSize: number) {
      const [count, docs] = await Promise.all([access.countWorkspaces(), access.listWorkspaces((page - 1) * pageSize, pageSize)]);
      return { count, results: docs.map(toWorkspace) };
    },
    getWorkspace: async (id: number) => toWorkspace(await workspace(id)),
    async renameWorkspace(id: number, name: string) {
      const now = new Date();
      const doc = await access.renameWorkspace(id, name, now, [workspaceRenamed(id, name, now)]);
      if (!doc) throw new AppError('not_found', `workspace ${id} not found`);
      kick();
      return toWorkspace(doc);
    },
    async deleteWorkspace(id: number) {
      const now = new Date();
      if (!(await access.markWorkspaceDeleted(id, now, [workspaceDeleted(id, now)]))) throw new AppError('not_found', `workspace ${id} not found`);
      kick();
    },

    async createGroup(name: string) {
      const now = new Date();
      const doc: GroupDoc = { _id: await access.nextId('groups'), name, members: [], createdAt: now, updatedAt: now, deletedAt: null };
      await access.insertGroup(doc).catch((err: unknown) => {
        if (err instanceof UniqueViolation) throw new AppError('conflict', 'a group with this name already exists');
        throw err;
      });
      return toGroup(doc);
    },
    async listGroups(page: number, pageSize: number) {
      const [count, docs] = await Promise.all([access.countGroups(), access.listGroups((page - 1) * pageSize, pageSize)]);
      return { count, results: docs.map(toGroup) };
    },
    getGroup: async (id: number) => toGroup(await group(id)),
    async deleteGroup(id: number) {
      const g = await group(id);
      if (!(await access.markGroupDeleted(id, new Date(), [accessEntry(g.members)]))) throw new AppError('not_found', `group ${id} not found`);
      kick();
    },
    async addMember(groupId: number, userId: number) {
      await group(groupId);
      await referenced({ userId });
      const result = await access.changeMembership(groupId, userId, 'add', new Date(), [accessEntry([userId])]);
      if (result === 'missing') throw new AppError('not_found', `group ${groupId} not found`);
      kick();
      return toGroup(await group(groupId));
    },
    async removeMember(groupId: number, userId: number) {
      const result = await access.changeMembership(groupId, userId, 'remove', new Date(), [accessEntry([userId])]);
      if (result === 'missing') throw new AppError('not_found', `group ${groupId} not found`);
      if (result === 'unchanged') throw new AppError('not_found', `user ${userId} is not a member of group ${groupId}`);
      kick();
    },

    async grant(workspaceId: number, subject: { userId: number } | { groupId: number }, role: Role) {
      await workspace(workspaceId);
      await referenced(subject);
      const now = new Date();
      const entry = 'userId' in subject ? accessEntry([subject.userId]) : accessEntry([], subject.groupId);
      const doc: PermissionDoc = {
        _id: await access.nextId('permissions'),
        workspaceId,
        userId: 'userId' in subject ? subject.userId : null,
        groupId: 'groupId' in subject ? subject.groupId : null,
        role,
        createdAt: now,
        deletedAt: null,
        outbox: { [entry.id]: entry },
        outboxPending: true,
      };
      await access.insertPermission(doc);
      kick();
      return toPermission(doc);
    },
    async listPermissions(workspaceId: number) {
      await workspace(workspaceId);
      return (await access.permissionsOfWorkspace(workspaceId)).map(toPermission);
    },
    async revoke(workspaceId: number, permissionId: number) {
      const p = await access.findPermission(workspaceId, permissionId);
      if (!p) throw new AppError('not_found', `permission ${permissionId} not found in workspace ${workspaceId}`);
      const entry = p.userId !== null ? accessEntry([p.userId]) : accessEntry([], p.groupId!);
      await access.markPermissionDeleted(workspaceId, permissionId, new Date(), [entry]);
      kick();
    },

    async userWorkspaces(userId: number) {
      await user(userId);
      return effectiveWorkspaces(access, userId);
    },
  };
}
export type AccessUseCases = ReturnType<typeof accessUseCases>;
