import { Router, type Request } from 'express';
import {
  AdminReplaceUserBody,
  ApiRoutes,
  CreateUserBody,
  IdParam,
  PatchUserBody,
  SearchQuery,
  SelfReplaceUserBody,
  UserListQuery,
} from '@suite/contracts';
import { assertAdmin, assertSelfOrAdmin, assertUser, authenticate, isAdmin, principalOf, type TokenVerifier } from '@suite/auth';
import { parseInput, route } from '@suite/server-kit';
import { z } from 'zod';
import type { UsersUseCases } from '../domain/users.use-cases.js';
import { ifMatch, sendVersioned } from './versions.js';
import type { AccessUseCases } from '../domain/access.use-cases.js';
import { answerCursorPage, answerPage } from './pagination.js';

const NoQuery = z.strictObject({});

function userId(req: Request): number {
  return parseInput(IdParam, req.params.id, 'path');
}

/** The Users API: parse, authorise, call the use case, answer. */
export function usersRouter(verifier: TokenVerifier, users: UsersUseCases, access: AccessUseCases): Router {
  const router = Router();
  router.use('/users', authenticate(verifier));

  route(router, ApiRoutes.listUsers, async (req, res) => {
    assertUser(principalOf(req));
    const query = parseInput(UserListQuery, req.query, 'query');
    if (query.cursor !== undefined) await answerCursorPage(req, res, { ...query, cursor: query.cursor }, (from, pageSize) => users.listFrom(from, pageSize));
    else await answerPage(req, res, query, (page, pageSize) => users.list(page, pageSize));
  });

  route(router, ApiRoutes.searchUsers, async (req, res) => {
    assertUser(principalOf(req));
    const query = parseInput(SearchQuery, req.query, 'query');
    await answerPage(req, res, query, (page, pageSize) => users.search(query.q, page, pageSize));
  });

  route(router, ApiRoutes.createUser, async (req, res) => {
    assertAdmin(principalOf(req));
    parseInput(NoQuery, req.query, 'query');
    const body = parseInput(CreateUserBody, req.body, 'body');
    const created = await users.create(body);
    // Location names the new user, not the collection it was added to.
    sendVersioned(req, res.status(201).location(`${req.baseUrl}/users/${created.profile.id}`), created);
  });

  route(router, ApiRoutes.getUser, async (req, res) => {
    assertUser(principalOf(req));
    parseInput(NoQuery, req.query, 'query');
    sendVersioned(req, res, await users.get(userId(req)));
  });

  route(router, ApiRoutes.replaceUser, async (req, res) => {
    const caller = principalOf(req);
    const id = userId(req);
    assertSelfOrAdmin(caller, id);
    parseInput(NoQuery, req.query, 'query');
    const body = parseInput(isAdmin(caller) ? AdminReplaceUserBody : SelfReplaceUserBody, req.body, 'body');
    sendVersioned(req, res, await users.replace(caller, id, body, ifMatch(req)));
  });

  route(router, ApiRoutes.patchUser, async (req, res) => {
    const caller = principalOf(req);
    const id = userId(req);
    assertSelfOrAdmin(caller, id);
    parseInput(NoQuery, req.query, 'query');
    const body = parseInput(PatchUserBody, req.body, 'body');
    sendVersioned(req, res, await users.patch(caller, id, body, ifMatch(req)));
  });

  route(router, ApiRoutes.deleteUser, async (req, res) => {
    assertAdmin(principalOf(req));
    parseInput(NoQuery, req.query, 'query');
    await users.remove(userId(req), ifMatch(req));
    res.status(204).end();
  });

  route(router, ApiRoutes.userWorkspaces, async (req, res) => {
    const id = userId(req);
    assertSelfOrAdmin(principalOf(req), id);
    parseInput(NoQuery, req.query, 'query');
    res.json({ results: await access.userWorkspaces(id) });
  });

  return router;
}
