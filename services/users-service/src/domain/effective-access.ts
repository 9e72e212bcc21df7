import { roleRank, type EffectiveWorkspace, type Grant, type Role } from '@suite/contracts';
import type { AccessRepository } from '../data-access/access.repository.js';

/** A user's workspaces: direct and group grants merged, the highest role wins, every grant listed. */
export async function effectiveWorkspaces(
  access: AccessRepository,
  userId: number,
): Promise<EffectiveWorkspace[]> {
  const [direct, groups] = await Promise.all([
    access.directPermissions(userId),
    access.groupsOfUser(userId),
  ]);
  const groupPerms = await access.groupPermissions(groups.map((g) => g._id));
  const groupName = new Map(groups.map((g) => [g._id, g.name]));
  const byWorkspace = new Map<number, { role: Role; grants: Grant[] }>();
  const add = (workspaceId: number, role: Role, grant: Grant) => {
    const entry = byWorkspace.get(workspaceId) ?? { role, grants: [] };
    if (roleRank[role] > roleRank[entry.role]) entry.role = role;
    entry.grants.push(grant);
    byWorkspace.set(workspaceId, entry);
  };
  for (const p of direct) add(p.workspaceId, p.role, { kind: 'direct', permissionId: p._id });
  for (const p of groupPerms) {
    add(p.workspaceId, p.role, {
      kind: 'group',
      permissionId: p._id,
      groupId: p.groupId!,
      groupName: groupName.get(p.groupId!) ?? '',
    });
  }
  const workspaces = await access.workspacesByIds([...byWorkspace.keys()]);
  return workspaces
    .map((w) => {
      const e = byWorkspace.get(w._id)!;
      return { workspace: { id: w._id, name: w.name }, role: e.role, grantedVia: e.grants };
    })
    .sort((a, b) => a.workspace.id - b.workspace.id);
}
