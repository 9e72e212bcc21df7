import { Router } from 'express';
import { AppError, ApiRoutes, type MarkAction } from '@suite/contracts';
import { authenticate, type TokenVerifier } from '@suite/auth';
import { jsonText, requestOrigin, route } from '@suite/server-kit';
import type { InboxUseCases } from '../domain/inbox.js';

/** The inbox routes (self or admin, as the activity reads): the route table checks input and access. */
export function inboxRouter(
  verifier: TokenVerifier,
  inbox: InboxUseCases,
  unavailable: () => string | undefined,
): Router {
  const router = Router();
  router.use('/users', authenticate(verifier));
  /** The inbox is read and marked on projections that are whole. */
  const available = () => {
    const problem = unavailable();
    if (problem) throw new AppError('unavailable', problem);
  };

  route(router, ApiRoutes.notifications, async ({ params, query, req }) => {
    available();
    const page = await inbox.page(params.id, query);
    let next: string | null = null;
    if (page.nextCursor) {
      const search = Object.entries({ ...query, cursor: page.nextCursor }).flatMap(([k, v]) =>
        v === undefined ? [] : [`${k}=${encodeURIComponent(v)}`],
      );
      next = `${requestOrigin(req)}${req.baseUrl}${req.path}?${search.join('&')}`;
    }
    return {
      status: 200,
      body: jsonText(
        `{"results":[${page.results.join(',')}],"next":${JSON.stringify(next)},"counts":${JSON.stringify(page.counts)},"cursor":"${page.cursor}"}`,
      ),
    };
  });

  route(router, ApiRoutes.notificationCounts, async ({ params, query }) => {
    available();
    return { status: 200, body: await inbox.counts(params.id, query.workspaceId) };
  });

  route(router, ApiRoutes.markSeen, async ({ params, body }) => {
    available();
    return inbox.mark(params.id, 'seen', body);
  });

  const marks = [
    [ApiRoutes.markRead, 'read'],
    [ApiRoutes.markUnread, 'unread'],
    [ApiRoutes.archive, 'archive'],
    [ApiRoutes.unarchive, 'unarchive'],
  ] as const satisfies readonly (readonly [unknown, MarkAction])[];
  for (const [apiRoute, action] of marks) {
    route(router, apiRoute, async ({ params, body }) => {
      available();
      return inbox.mark(params.id, action, body);
    });
  }
  return router;
}
