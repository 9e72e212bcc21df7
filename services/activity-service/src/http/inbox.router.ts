import { Router, type Request } from 'express';
import { AppError, ApiRoutes, IdParam, MarkBody, SeenBody, type ApiRoute, type MarkAction } from '@suite/contracts';
import { assertSelfOrAdmin, authenticate, principalOf, type TokenVerifier } from '@suite/auth';
import { parseInput, requestOrigin, route, sendJson } from '@suite/server-kit';
import type { InboxUseCases } from '../domain/inbox.js';

/** The inbox routes (self or admin, as the activity reads). */
export function inboxRouter(verifier: TokenVerifier, inbox: InboxUseCases, unavailable: () => string | undefined): Router {
  const router = Router();
  router.use('/users', authenticate(verifier));
  const userId = (req: Request) => {
    const id = parseInput(IdParam, req.params.id, 'path');
    assertSelfOrAdmin(principalOf(req), id);
    const problem = unavailable();
    if (problem) throw new AppError('unavailable', problem);
    return id;
  };

  const { notifications, notificationCounts, markSeen, markRead, markUnread, archive, unarchive } = ApiRoutes;
  route(router, notifications, async (req, res) => {
    const id = userId(req);
    const q = parseInput(notifications.query, req.query, 'query');
    const page = await inbox.page(id, q);
    let next: string | null = null;
    if (page.nextCursor) {
      const params = Object.entries({ ...q, cursor: page.nextCursor }).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${encodeURIComponent(v)}`]));
      next = `${requestOrigin(req)}${req.baseUrl}${req.path}?${params.join('&')}`;
    }
    sendJson(res, `{"results":[${page.results.join(',')}],"next":${JSON.stringify(next)},"counts":${JSON.stringify(page.counts)},"cursor":"${page.cursor}"}`);
  });

  route(router, notificationCounts, async (req, res) => {
    const id = userId(req);
    const q = parseInput(notificationCounts.query, req.query, 'query');
    sendJson(res, JSON.stringify(await inbox.counts(id, q.workspaceId)));
  });

  route(router, markSeen, async (req, res) => {
    const id = userId(req);
    parseInput(markSeen.query, req.query, 'query');
    const body = parseInput(SeenBody, req.body, 'body');
    const { status, body: answer } = await inbox.mark(id, 'seen', body);
    res.status(status).json(answer);
  });

  const marks: [ApiRoute, MarkAction][] = [
    [markRead, 'read'],
    [markUnread, 'unread'],
    [archive, 'archive'],
    [unarchive, 'unarchive'],
  ];
  for (const [apiRoute, action] of marks) {
    route(router, apiRoute, async (req, res) => {
      const id = userId(req);
      parseInput(markRead.query, req.query, 'query');
      const body = parseInput(MarkBody, req.body, 'body');
      const { status, body: answer } = await inbox.mark(id, action, body);
      res.status(status).json(answer);
    });
  }
  return router;
}
