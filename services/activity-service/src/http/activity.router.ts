import { Router, type Request } from 'express';
import { AppError, ApiRoutes, IdParam, activityPageJson, fromBinaryMode, parseActivityBatch, type ActiveWorkspace, type ActivityCount, type EventTimeWindow } from '@suite/contracts';
import { assertScope, assertSelfOrAdmin, authenticate, principalOf, type TokenVerifier } from '@suite/auth';
import type { ActivityPublisher } from '@suite/publisher';
import { parseInput, requestOrigin, route, sendJson } from '@suite/server-kit';
import type { ActivityReads } from '../domain/activity-reads.js';
import { assertPublishable } from '../domain/ingest.js';

export interface ActivityRouterOptions {
  /** Why reads cannot be answered now, if they cannot (e.g. the projections are being rebuilt). */
  unavailable: () => string | undefined;
  /** The accepted event times around a request's arrival. */
  timeWindow: EventTimeWindow;
}

/** This request's absolute URL with `query` as its query string (the parameters it validated, in a fixed order). */
function absolute(req: Request, query: Record<string, string | number | undefined>): string {
  const params = Object.entries(query).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${encodeURIComponent(v)}`]));
  return `${requestOrigin(req)}${req.baseUrl}${req.path}?${params.join('&')}`;
}

/** An HTTP header's value as the CloudEvents HTTP binding writes it (percent-encoded where needed). */
function headerValue(value: string, name: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new AppError('validation_failed', 'invalid header', [{ path: `header.${name}`, message: 'not valid percent-encoding' }]);
  }
}

/**
 * The body of POST /activities as one event or an array of events, in any of the CloudEvents HTTP
 * binding's modes: binary (a `ce-specversion` header: attributes in `ce-*` headers, the body is
 * `data`), structured (`application/cloudevents+json`: one event), batch
 * (`application/cloudevents-batch+json`: an array), or plain JSON (one event or an array).
 */
function ingestBody(req: Request): unknown {
  const binary = fromBinaryMode(req.headers, 'ce-', req.body, headerValue);
  if (binary) return binary;
  if (req.is('application/cloudevents-batch+json') && !Array.isArray(req.body)) {
    throw new AppError('validation_failed', 'invalid body', [{ path: 'body', message: 'a CloudEvents batch is a JSON array of events' }]);
  }
  if (req.is('application/cloudevents+json') && Array.isArray(req.body)) {
    throw new AppError('validation_failed', 'invalid body', [{ path: 'body', message: 'structured mode carries one event; send a batch as application/cloudevents-batch+json' }]);
  }
  return req.body;
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

  const { activities, activityCount, activeWorkspaces, publishActivities } = ApiRoutes;
  route(router, activities, async (req, res) => {
    const id = userId(req);
    const q = parseInput(activities.query, req.query, 'query');
    const page = await reads.page(id, q.limit ?? 20, q.cursor, q.workspaceId);
    const next = page.nextCursor ? absolute(req, { limit: q.limit, cursor: page.nextCursor, workspaceId: q.workspaceId }) : null;
    // The stored activities go out as they are.
    sendJson(res, activityPageJson(page.results, next));
  });

  route(router, activityCount, async (req, res) => {
    const id = userId(req);
    parseInput(activityCount.query, req.query, 'query');
    sendJson(res, JSON.stringify({ userId: id, count: await reads.count(id) } satisfies ActivityCount));
  });

  route(router, activeWorkspaces, async (req, res) => {
    const id = userId(req);
    const q = parseInput(activeWorkspaces.query, req.query, 'query');
    sendJson(res, JSON.stringify(await reads.activeWorkspaces(id, q.days ?? 30) satisfies ActiveWorkspace[]));
  });

  route(router, publishActivities, async (req, res) => {
    const receivedAt = Date.now();
    const principal = principalOf(req);
    assertScope(principal, 'activity:write');
    parseInput(publishActivities.query, req.query, 'query');
    const body = ingestBody(req);
    const parsed = parseActivityBatch(body);
    if (!parsed.ok) throw new AppError('validation_failed', 'invalid body', parsed.details);
    assertPublishable(parsed.events, principal, receivedAt, options.timeWindow, (i) => (Array.isArray(body) ? `body.${i}` : 'body'));
    const ids = await publisher.publish(parsed.events);
    res.status(202).json({ accepted: ids.length, ids });
  });

  return router;
}
