import { Router, type NextFunction, type Request, type Response } from 'express';
import { ApiRoutes, GroupBody, GroupMemberBody, IdParam, PageQuery, PermissionBody, WorkspaceBody } from '@suite/contracts';
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

/** Workspaces, groups and permissions: admin only. */
export function accessRouter(verifier: TokenVerifier, access: AccessUseCases): Router {
  const router = Router();
  router.use(['/workspaces', '/groups'], authenticate(verifier), requireAdmin);

  route(router, ApiRoutes.createWorkspace, noQuery, async (req, res) => {
    res.status(201).json(await access.createWorkspace(parseInput(WorkspaceBody, req.body, 'body').name));
  });
  route(router, ApiRoutes.listWorkspaces, async (req, res) => {
    await answerPage(req, res, parseInput(PageQuery, req.query, 'query'), (page, pageSize) => access.listWorkspaces(page, pageSize));
  });
  route(router, ApiRoutes.getWorkspace, noQuery, async (req, res) => {
    res.json(await access.getWorkspace(id(req, 'id')));
  });
  route(router, ApiRoutes.renameWorkspace, noQuery, async (req, res) => {
    const workspaceId = id(req, 'id');
    res.json(await access.renameWorkspace(workspaceId, parseInput(WorkspaceBody, req.body, 'body').name));
  });
  route(router, ApiRoutes.deleteWorkspace, noQuery, async (req, res) => {
    await access.deleteWorkspace(id(req, 'id'));
    res.status(204).end();
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

  route(router, ApiRoutes.createGroup, noQuery, async (req, res) => {
    res.status(201).json(await access.createGroup(parseInput(GroupBody, req.body, 'body').name));
  });
  route(router, ApiRoutes.listGroups, async (req, res) => {
    await answerPage(req, res, parseInput(PageQuery, req.query, 'query'), (page, pageSize) => access.listGroups(page, pageSize));
  });
  route(router, ApiRoutes.getGroup, noQuery, async (req, res) => {
    res.json(await access.getGroup(id(req, 'id')));
  });
  route(router, ApiRoutes.deleteGroup, noQuery, async (req, res) => {
    await access.deleteGroup(id(req, 'id'));
    res.status(204).end();
  });
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
