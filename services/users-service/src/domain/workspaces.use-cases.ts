import { AppError } from '@suite/contracts';
import type { AccessRepository, WorkspaceDoc } from '../data-access/access.repository.js';
import type { AccessLookups } from './access.lookups.js';
import { workspaceDeleted, workspaceRenamed } from './events.js';

export const toWorkspace = (w: WorkspaceDoc) => ({
  id: w._id,
  name: w.name,
  createdAt: w.createdAt.toISOString(),
  updatedAt: w.updatedAt.toISOString(),
});

/** Workspaces: create, list, get, rename and delete (the last two announced on users.events). */
export function workspaceUseCases(access: AccessRepository, find: AccessLookups, kick: () => void) {
  return {
    async createWorkspace(name: string) {
      const now = new Date();
      const doc: WorkspaceDoc = {
        _id: await access.nextId('workspaces'),
        name,
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      };
      await access.insertWorkspace(doc);
      return toWorkspace(doc);
    },
    async listWorkspaces(page: number, pageSize: number) {
      const { count, docs } = await access.liveWorkspaces.page((page - 1) * pageSize, pageSize);
      return { count, results: docs.map(toWorkspace) };
    },
    getWorkspace: async (id: number) => toWorkspace(await find.workspace(id)),
    async renameWorkspace(id: number, name: string) {
      const now = new Date();
      const doc = await access.renameWorkspace(id, name, now, (version) => [
        workspaceRenamed(id, name, version, now),
      ]);
      if (!doc) throw new AppError('not_found', `workspace ${id} not found`);
      kick();
      return toWorkspace(doc);
    },
    async deleteWorkspace(id: number) {
      const now = new Date();
      if (!(await access.markWorkspaceDeleted(id, now, [workspaceDeleted(id, now)])))
        throw new AppError('not_found', `workspace ${id} not found`);
      kick();
    },
  };
}
