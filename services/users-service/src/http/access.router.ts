import { Router, type NextFunction, type Request, type Response } from 'express';
import { GroupBody, GroupMemberBody, IdParam, PageQuery, PermissionBody, WorkspaceBody } from '@suite/contracts';
import { authenticate, requireAdmin, type TokenVerifier } from '@suite/auth';
import { parseInput } from '@suite/server-kit';
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

  router.post('/workspaces', noQuery, async (req, res) => {
    res.status(201).json(await access.createWorkspace(parseInput(WorkspaceBody, req.body, 'body').name));
  });
  router.get('/workspaces', async (req, res) => {
    await answerPage(req, res, parseInput(PageQuery, req.query, 'query'), (page, pageSize) => access.listWorkspaces(page, pageSize));
  });
  router.get('/workspaces/:id', noQuery, async (req, res) => {
    res.json(await access.getWorkspace(id(req, 'id')));
  });
  router.patch('/workspaces/:id', noQuery, async (req, res) => {
    const workspaceId = id(req, 'id');
    res.json(await access.renameWorkspace(workspaceId, parseInput(WorkspaceBody, req.body, 'body').name));
  });
  router.delete('/workspaces/:id', noQuery, async (req, res) => {
    await access.deleteWorkspace(id(req, 'id'));
    res.status(204).end();
  });

  router.post('/workspaces/:id/permissions', noQuery, async (req, res) => {
    const workspaceId = id(req, 'id');
    const body = parseInput(PermissionBody, req.body, 'body');
    const subject = body.userId !== undefined ? { userId: body.userId } : { groupId: body.groupId! };
    res.status(201).json(await access.grant(workspaceId, subject, body.role));
  });
  router.get('/workspaces/:id/permissions', noQuery, async (req, res) => {
    res.json({ results: await access.listPermissions(id(req, 'id')) });
  });
  router.delete('/workspaces/:id/permissions/:permissionId', noQuery, async (req, res) => {
    await access.revoke(id(req, 'id'), id(req, 'permissionId'));
    res.status(204).end();
  });

  router.post('/groups', noQuery, async (req, res) => {
    res.status(201).json(await access.createGroup(parseInput(GroupBody, req.body, 'body').name));
  });
  router.get('/groups', async (req, res) => {
    await answerPage(req, res, parseInput(PageQuery, req.query, 'query'), (page, pageSize) => access.listGroups(page, pageSize));
  });
  router.get('/groups/:id', noQuery, async (req, res) => {
    res.json(await access.getGroup(id(req, 'id')));
  });
  router.delete('/groups/:id', noQuery, async (req, res) => {
    await access.deleteGroup(id(req, 'id'));
    res.status(204).end();
  });
  router.post('/groups/:id/members', noQuery, async (req, res) => {
    const groupId = id(req, 'id');
    res.status(201).json(await access.addMember(groupId, parseInput(GroupMemberBody, req.body, 'body').userId));
  });
  router.delete('/groups/:id/members/:userId', noQuery, async (req, res) => {
    await access.removeMember(id(req, 'id'), id(req, 'userId'));
    res.status(204).end();
  });

  return router;
}
