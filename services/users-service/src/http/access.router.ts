import { Router } from 'express';
import { ApiRoutes } from '@suite/contracts';
import { authenticate, type TokenVerifier } from '@suite/auth';
import { route } from '@suite/server-kit';
import type { AccessUseCases } from '../domain/access.use-cases.js';
import { numberedPage } from './pagination.js';

const none = { status: 204, body: undefined } as const;

/** Workspaces, groups and permissions (admin only: the route table checks input and access). */
export function accessRouter(verifier: TokenVerifier, access: AccessUseCases): Router {
  const router = Router();
  router.use(['/workspaces', '/groups'], authenticate(verifier));
  workspaceRoutes(router, access);
  permissionRoutes(router, access);
  groupRoutes(router, access);
  return router;
}

function workspaceRoutes(router: Router, access: AccessUseCases): void {
  route(router, ApiRoutes.createWorkspace, async ({ body }) => ({
    status: 201,
    body: await access.createWorkspace(body.name),
  }));
  route(router, ApiRoutes.listWorkspaces, async ({ query, req }) => ({
    status: 200,
    body: await numberedPage(req, query, access.listWorkspaces),
  }));
  route(router, ApiRoutes.getWorkspace, async ({ params }) => ({
    status: 200,
    body: await access.getWorkspace(params.id),
  }));
  route(router, ApiRoutes.renameWorkspace, async ({ params, body }) => ({
    status: 200,
    body: await access.renameWorkspace(params.id, body.name),
  }));
  route(
    router,
    ApiRoutes.deleteWorkspace,
    async ({ params }) => (await access.deleteWorkspace(params.id), none),
  );
}

function permissionRoutes(router: Router, access: AccessUseCases): void {
  route(router, ApiRoutes.grant, async ({ params, body }) => {
    const subject = 'userId' in body ? { userId: body.userId } : { groupId: body.groupId };
    return { status: 201, body: await access.grant(params.id, subject, body.role) };
  });
  route(router, ApiRoutes.listPermissions, async ({ params }) => ({
    status: 200,
    body: { results: await access.listPermissions(params.id) },
  }));
  route(
    router,
    ApiRoutes.revoke,
    async ({ params }) => (await access.revoke(params.id, params.permissionId), none),
  );
}

function groupRoutes(router: Router, access: AccessUseCases): void {
  route(router, ApiRoutes.createGroup, async ({ body }) => ({
    status: 201,
    body: await access.createGroup(body.name),
  }));
  route(router, ApiRoutes.listGroups, async ({ query, req }) => ({
    status: 200,
    body: await numberedPage(req, query, access.listGroups),
  }));
  route(router, ApiRoutes.getGroup, async ({ params }) => ({
    status: 200,
    body: await access.getGroup(params.id),
  }));
  route(
    router,
    ApiRoutes.deleteGroup,
    async ({ params }) => (await access.deleteGroup(params.id), none),
  );
  route(router, ApiRoutes.addMember, async ({ params, body }) => ({
    status: 201,
    body: await access.addMember(params.id, body.userId),
  }));
  route(
    router,
    ApiRoutes.removeMember,
    async ({ params }) => (await access.removeMember(params.id, params.userId), none),
  );
}
