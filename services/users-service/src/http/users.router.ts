import { Router } from 'express';
import { AdminReplaceUserBody, ApiRoutes, SelfReplaceUserBody } from '@suite/contracts';
import { authenticate, isAdmin, type TokenVerifier } from '@suite/auth';
import { parseInput, route } from '@suite/server-kit';
import type { UsersUseCases } from '../domain/users.use-cases.js';
import { etagOf, ifMatch, versioned } from './versions.js';
import type { AccessUseCases } from '../domain/access.use-cases.js';
import { cursorPage, numberedPage } from './pagination.js';

/** The Users API: the route table checks input and access; each handler calls its use case and answers. */
export function usersRouter(
  verifier: TokenVerifier,
  users: UsersUseCases,
  access: AccessUseCases,
): Router {
  const router = Router();
  router.use('/users', authenticate(verifier));

  route(router, ApiRoutes.listUsers, async ({ query, req }) => ({
    status: 200,
    body:
      query.cursor !== undefined
        ? await cursorPage(req, { ...query, cursor: query.cursor }, (from, pageSize) =>
            users.listFrom(from, pageSize),
          )
        : await numberedPage(req, query, (page, pageSize) => users.list(page, pageSize)),
  }));

  route(router, ApiRoutes.searchUsers, async ({ query, req }) => ({
    status: 200,
    body: await numberedPage(req, query, (page, pageSize) => users.search(query.q, page, pageSize)),
  }));

  route(router, ApiRoutes.createUser, async ({ body, req }) => {
    const created = await users.create(body);
    // Location names the new user, not the collection it was added to.
    return {
      status: 201,
      body: created.profile,
      headers: {
        etag: etagOf(created.version),
        location: `${req.baseUrl}/users/${created.profile.id}`,
      },
    };
  });

  route(router, ApiRoutes.getUser, async ({ params, req }) =>
    versioned(req, 200, await users.get(params.id)),
  );

  route(
    router,
    ApiRoutes.replaceUser,
    async ({ params, principal, body, req }) => {
      // An admin replaces every writable field; a user replacing their own profile sends those they may write.
      const fields = isAdmin(principal)
        ? parseInput(AdminReplaceUserBody, body, 'body')
        : parseInput(SelfReplaceUserBody, body, 'body');
      return versioned(req, 200, await users.replace(principal, params.id, fields, ifMatch(req)));
    },
    // The body's schema depends on the caller (the table documents the admin's).
    { body: 'raw' },
  );

  route(router, ApiRoutes.patchUser, async ({ params, principal, body, req }) =>
    versioned(req, 200, await users.patch(principal, params.id, body, ifMatch(req))),
  );

  route(router, ApiRoutes.deleteUser, async ({ params, req }) => {
    await users.remove(params.id, ifMatch(req));
    return { status: 204, body: undefined };
  });

  route(router, ApiRoutes.userWorkspaces, async ({ params }) => ({
    status: 200,
    body: { results: await access.userWorkspaces(params.id) },
  }));

  return router;
}
