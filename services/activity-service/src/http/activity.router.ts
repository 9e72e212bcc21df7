import { Router, type Request } from 'express';
import { z } from 'zod';
import { AppError, IdParam, activityPageJson, parseActivityBatch, type ActiveWorkspace, type ActivityCount } from '@suite/contracts';
import { assertScope, assertSelfOrAdmin, authenticate, principalOf, type TokenVerifier } from '@suite/auth';
import type { ActivityPublisher } from '@suite/publisher';
import { parseInput, sendJson } from '@suite/server-kit';
import type { ActivityReads } from '../domain/activity-reads.js';

const intString = (max: number) => z.string().regex(/^[1-9][0-9]{0,8}$/, 'must be a positive integer').transform(Number).refine((n) => n <= max, `must be at most ${max}`);

export interface ActivityRouterOptions {
  maxActiveDays: number;
  /** Why reads cannot be answered now, if they cannot (e.g. the projections are being rebuilt). */
  unavailable: () => string | undefined;
}

/** This request's absolute URL with `query` as its query string (the parameters it validated, in a fixed order). */
function absolute(req: Request, query: Record<string, string | number | undefined>): string {
  const params = Object.entries(query).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${encodeURIComponent(v)}`]));
  return `${req.protocol}://${req.host}${req.baseUrl}${req.path}?${params.join('&')}`;
}

/** Activity reads (self or admin) and ingestion (scope activity:write). */
export function activityRouter(verifier: TokenVerifier, reads: ActivityReads, publisher: ActivityPublisher, options: ActivityRouterOptions): Router {
  const router = Router();
  router.use(['/users', '/activities'], authenticate(verifier));
  /** The user a read is for: a valid id the caller may read, from projections that are whole. */
  const userId = (req: Request) => {
    const id = parseInput(IdParam, req.params.id, 'path');
    assertSelfOrAdmin(principalOf(req), id);
    const problem = options.unavailable();
    if (problem) throw new AppError('unavailable', problem);
    return id;
  };

  // Schemas are built once: zod compiles a schema on its first parse.
  const NoQuery = z.strictObject({});
  const PageQuery = z.strictObject({ limit: intString(100).optional(), cursor: z.string().max(400).optional(), workspaceId: intString(999_999_999).optional() });
  router.get('/users/:id/activities', async (req, res) => {
    const id = userId(req);
    const q = parseInput(PageQuery, req.query, 'query');
    const page = await reads.page(id, q.limit ?? 20, q.cursor, q.workspaceId);
    const next = page.nextCursor ? absolute(req, { limit: q.limit, cursor: page.nextCursor, workspaceId: q.workspaceId }) : null;
    // The stored activities go out as they are.
    sendJson(res, activityPageJson(page.results, next));
  });

  router.get('/users/:id/activity-count', async (req, res) => {
    const id = userId(req);
    parseInput(NoQuery, req.query, 'query');
    sendJson(res, JSON.stringify({ userId: id, count: await reads.count(id) } satisfies ActivityCount));
  });

  const ActiveQuery = z.strictObject({ days: intString(options.maxActiveDays).optional() });
  router.get('/users/:id/active-workspaces', async (req, res) => {
    const id = userId(req);
    const q = parseInput(ActiveQuery, req.query, 'query');
    sendJson(res, JSON.stringify(await reads.activeWorkspaces(id, q.days ?? 30) satisfies ActiveWorkspace[]));
  });

  router.post('/activities', async (req, res) => {
    assertScope(principalOf(req), 'activity:write');
    parseInput(NoQuery, req.query, 'query');
    const parsed = parseActivityBatch(req.body);
    if (!parsed.ok) throw new AppError('validation_failed', 'invalid body', parsed.details);
    const ids = await publisher.publish(parsed.events);
    res.status(202).json({ accepted: ids.length, ids });
  });

  return router;
}
