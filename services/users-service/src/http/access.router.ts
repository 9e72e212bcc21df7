import { Router, type NextFunction, type Request, type Response } from 'express';
import { ApiRoutes, GroupBody, GroupMemberBody, IdParam, PageQuery, PermissionBody, WorkspaceBody, type ApiRoute } from '@suite/contracts';
import { authenticate, requireAdmin, type TokenVerifier } from '@suite/auth';
import { parseInput, route } from '@suite/server-kit';
import { z } from 'zod';
import type { AccessUseCases } from '../domain/access.use-cases.js';
import { answerPage } from './pagination.js';

const NoQuery = z.strictObject({});
const id = (req: Request, name: string) => parseInput(IdParam, req.params[name], 'path');
const noQuery = (req: Request, _res: Response, next: NextFunction) => {
  parseInput(NoQuery, req.query, 'query');
  next();
};

/** The routes and use cases of a named admin resource (a workspace, a group): create, list, get, delete. */
interface NamedResource<T> {
  routes: { create: ApiRoute; list: ApiRoute; get: ApiRoute; remove: ApiRoute };
  body: z.ZodType<{ name: string }>;
  create(name: string): Promise<T>;
  list(page: number, pageSize: number): Promise<{ count: number; results: T[] }>;
  get(id: number): Promise<T>;
  remove(id: number): Promise<void>;
}

/** One shape for workspaces and groups: 201 with the resource, a page, the resource, 204. */
function namedResourceRoutes<T>(router: Router, resource: NamedResource<T>): void {
  route(router, resource.routes.create, noQuery, async (req, res) => {
    res.status(201).json(await resource.create(parseInput(resource.body, req.body, 'body').name));
  });
  route(router, resource.routes.list, async (req, res) => {
    await answerPage(req, res, parseInput(PageQuery, req.query, 'query'), (page, pageSize) => resource.list(page, pageSize));
  });
  route(router, resource.routes.get, noQuery, async (req, res) => {
    res.json(await resource.get(id(req, 'id')));
  });
  route(router, resource.routes.remove, noQuery, async (req, res) => {
    await resource.remove(id(req, 'id'));
    res.status(204).end();
  });
}

/** Workspaces, groups and permissions: admin only. */
export function accessRouter(verifier: TokenVerifier, access: AccessUseCases): Router {
  const router = Router();
  router.use(['/workspaces', '/groups'], authenticate(verifier), requireAdmin);

  const { createWorkspace, listWorkspaces, getWorkspace, deleteWorkspace, createGroup, listGroups, getGroup, deleteGroup } = ApiRoutes;
  namedResourceRoutes(router, { routes: { create: createWorkspace, list: listWorkspaces, get: getWorkspace, remove: deleteWorkspace }, body: WorkspaceBody, create: access.createWorkspace, list: access.listWorkspaces, get: access.getWorkspace, remove: access.deleteWorkspace });
  route(router, ApiRoutes.renameWorkspace, noQuery, async (req, res) => {
    const workspaceId = id(req, 'id');
    res.json(await access.renameWorkspace(workspaceId, parseInput(WorkspaceBody, req.body, 'body').name));
  });

  route(router, ApiRoutes.grant, noQuery, async (req, res) => {
    const workspaceId = id(req, 'id');
    const body = parseInput(PermissionBody, req.body, 'body');
    const subject = 'userId' in body ? { userId: body.userId } : { groupId: body.groupId };
    res.status(201).json(await access.grant(workspaceId, subject, body.role));
  });
  route(router, ApiRoutes.listPermissions, noQuery, async (req, res) => {
    res.json({ results: await access.listPermissions(id(req, 'id')) });
  });
  route(router, ApiRoutes.revoke, noQuery, async (req, res) => {
    await access.revoke(id(req, 'id'), id(req, 'permissionId'));
    res.status(204).end();
  });

  namedResourceRoutes(router, { routes: { create: createGroup, list: listGroups, get: getGroup, remove: deleteGroup }, body: GroupBody, create: access.createGroup, list: access.listGroups, get: access.getGroup, remove: access.deleteGroup });
  route(router, ApiRoutes.addMember, noQuery, async (req, res) => {
    const groupId = id(req, 'id');
    res.status(201).json(await access.addMember(groupId, parseInput(GroupMemberBody, req.body, 'body').userId));
  });
  route(router, ApiRoutes.removeMember, noQuery, async (req, res) => {
    await access.removeMember(id(req, 'id'), id(req, 'userId'));
    res.status(204).end();
  });

  return router;
}
