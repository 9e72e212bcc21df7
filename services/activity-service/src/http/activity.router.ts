import { Router, type Request } from 'express';
import {
  AppError,
  ApiRoutes,
  ActivityLimits,
  activityPageJson,
  fromBinaryMode,
  parseActivityBatch,
  type EventTimeWindow,
} from '@suite/contracts';
import { authenticate, type TokenVerifier } from '@suite/auth';
import type { ActivityPublisher } from '@suite/publisher';
import { jsonText, requestOrigin, route } from '@suite/server-kit';
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
  const params = Object.entries(query).flatMap(([k, v]) =>
    v === undefined ? [] : [`${k}=${encodeURIComponent(v)}`],
  );
  return `${requestOrigin(req)}${req.baseUrl}${req.path}?${params.join('&')}`;
}

/** An HTTP header's value as the CloudEvents HTTP binding writes it (percent-encoded where needed). */
function headerValue(value: string, name: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new AppError('validation_failed', 'invalid header', [
      { path: `header.${name}`, message: 'not valid percent-encoding' },
    ]);
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
    throw new AppError('validation_failed', 'invalid body', [
      { path: 'body', message: 'a CloudEvents batch is a JSON array of events' },
    ]);
  }
  if (req.is('application/cloudevents+json') && Array.isArray(req.body)) {
    throw new AppError('validation_failed', 'invalid body', [
      {
        path: 'body',
        message:
          'structured mode carries one event; send a batch as application/cloudevents-batch+json',
      },
    ]);
  }
  return req.body;
}

/** Activity reads (self or admin) and ingestion (scope activity:write): the route table checks input and access. */
export function activityRouter(
  verifier: TokenVerifier,
  reads: ActivityReads,
  publisher: ActivityPublisher,
  options: ActivityRouterOptions,
): Router {
  const router = Router();
  router.use(['/users', '/activities'], authenticate(verifier));
  /** Reads need projections that are whole. */
  const available = () => {
    const problem = options.unavailable();
    if (problem) throw new AppError('unavailable', problem);
  };

  route(router, ApiRoutes.activities, async ({ params, query: q, req }) => {
    available();
    const page = await reads.page(
      params.id,
      q.limit ?? ActivityLimits.pageDefaultItems,
      q.cursor,
      q.workspaceId,
    );
    const next = page.nextCursor
      ? absolute(req, { limit: q.limit, cursor: page.nextCursor, workspaceId: q.workspaceId })
      : null;
    // The stored activities go out as they are.
    return { status: 200, body: jsonText(activityPageJson(page.results, next)) };
  });

  route(router, ApiRoutes.activityCount, async ({ params }) => {
    available();
    return { status: 200, body: { userId: params.id, count: await reads.count(params.id) } };
  });

  route(router, ApiRoutes.activeWorkspaces, async ({ params, query }) => {
    available();
    return {
      status: 200,
      body: await reads.activeWorkspaces(
        params.id,
        query.days ?? ActivityLimits.activeWorkspacesDefaultDays,
      ),
    };
  });

  route(
    router,
    ApiRoutes.publishActivities,
    async ({ principal, req }) => {
      const receivedAt = Date.now();
      const body = ingestBody(req);
      const parsed = parseActivityBatch(body);
      if (!parsed.ok) throw new AppError('validation_failed', 'invalid body', parsed.details);
      assertPublishable(parsed.events, principal, receivedAt, options.timeWindow, (i) =>
        Array.isArray(body) ? `body.${i}` : 'body',
      );
      const ids = await publisher.publish(parsed.events);
      return { status: 202, body: { accepted: ids.length, ids } };
    },
    // Binary, structured, batch or plain JSON: the body is read by its CloudEvents mode (ingestBody).
    { body: 'raw' },
  );

  return router;
}
