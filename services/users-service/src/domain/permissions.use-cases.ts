import { AppError, type Role } from '@suite/contracts';
import type { AccessRepository, PermissionDoc } from '../data-access/access.repository.js';
import type { AccessLookups } from './access.lookups.js';
import { effectiveWorkspaces } from './effective-access.js';
import { accessEntry } from './events.js';

export const toPermission = (p: PermissionDoc) => ({
  id: p._id,
  workspaceId: p.workspaceId,
  ...(p.userId !== null ? { userId: p.userId } : {}),
  ...(p.groupId !== null ? { groupId: p.groupId } : {}),
  role: p.role,
  createdAt: p.createdAt.toISOString(),
});

/** Workspace permissions for a user or a group, and a user's effective workspaces. */
export function permissionUseCases(
  access: AccessRepository,
  find: AccessLookups,
  kick: () => void,
) {
  return {
    async grant(
      workspaceId: number,
      subject: { userId: number } | { groupId: number },
      role: Role,
    ) {
      await find.workspace(workspaceId);
      await find.referenced(subject);
      const now = new Date();
      const entry =
        'userId' in subject ? accessEntry([subject.userId]) : accessEntry([], subject.groupId);
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
      await find.workspace(workspaceId);
      return (await access.permissionsOfWorkspace(workspaceId)).map(toPermission);
    },
    async revoke(workspaceId: number, permissionId: number) {
      const p = await access.findPermission(workspaceId, permissionId);
      if (!p)
        throw new AppError(
          'not_found',
          `permission ${permissionId} not found in workspace ${workspaceId}`,
        );
      const entry = p.userId !== null ? accessEntry([p.userId]) : accessEntry([], p.groupId!);
      await access.markPermissionDeleted(workspaceId, permissionId, new Date(), [entry]);
      kick();
    },
    async userWorkspaces(userId: number) {
      await find.user(userId);
      return effectiveWorkspaces(access, userId);
    },
  };
}
