import express, { type Express, type Router } from 'express';
import { AppError, type ApiRoute } from '@suite/contracts';
import { requestContext, type Logger } from '@suite/logger';
import { requestLog } from './request-log.js';
import { httpTracing } from '@suite/telemetry';
import { errorMiddleware, notFoundMiddleware } from './errors.js';
import { metricsMiddleware, routeTemplate, type Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';
import { methodNotAllowed, optionsFromTable } from './routes.js';
import type { RateLimits } from './rate-limits.js';

export interface HttpAppOptions {
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  /** Routers mounted under `/api/v1`. */
  api: Router[];
  /** The route-table entries the `api` routers register (for 405 and `Allow`). */
  routes: ApiRoute[];
  /** Routers mounted at the root (pages outside the API). */
  root?: Router[];
  /** Maximum JSON body size, e.g. "100kb". */
  bodyLimit: string;
  /** Express `trust proxy` value: which hops' X-Forwarded-* headers to believe. */
  trustProxy: string | number | boolean;
  /** Maps a service's infrastructure errors (e.g. a database outage) onto AppError. */
  mapError?: (err: unknown) => AppError | undefined;
  /** Per-principal budgets the table's routes draw on (`route()` applies them); none: not limited. */
  rateLimits?: RateLimits | undefined;
  /**
   * Why this process should be restarted (a fatal state it cannot leave by itself), or undefined
   * while it is alive: `/healthz` answers 503 with it, so a liveness probe restarts the pod.
   */
  liveness?: () => string | undefined;
  /** Layers left out, for the reads bench's per-layer breakdown only (bench/reads/hello-server.ts); services leave none out. */
  without?: readonly ('tracing' | 'requestLog' | 'metrics')[];
}

/** Liveness, readiness (`?check=a,b` scopes it to the named checks) and the metrics page. */
function probes(app: Express, { metrics, readiness, liveness }: HttpAppOptions): void {
  app.get('/healthz', (_req, res) => {
    const fatal = liveness?.();
    if (fatal) res.status(503).json({ status: 'failing', reason: fatal });
    else res.json({ status: 'ok' });
  });
  app.get('/readyz', async (req, res) => {
    const asked =
      typeof req.query.check === 'string' ? req.query.check.split(',').filter(Boolean) : undefined;
    const unknown = asked?.filter((name) => !readiness.names.includes(name)) ?? [];
    if (unknown.length > 0) {
      res.status(400).json({ status: 'not_ready', checks: {}, unknown });
      return;
    }
    const body = await readiness.evaluate(asked);
    res.status(body.status === 'ready' ? 200 : 503).json(body);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

/** The Express app every service shares: request ids, logs, metrics, health, one error shape. */
export function createHttpApp(options: HttpAppOptions): Express {
  const { logger, metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', options.trustProxy);
  app.locals.rateLimits = options.rateLimits;

  // A SERVER span per request continuing the caller's W3C trace (a no-op unless tracing is on).
  const without = new Set(options.without ?? []);
  if (!without.has('tracing')) app.use(httpTracing(routeTemplate));
  app.use(requestLog(logger, !without.has('requestLog')));
  app.use((req, _res, next) => requestContext.run({ requestId: String(req.id) }, next));
  if (!without.has('metrics')) app.use(metricsMiddleware(metrics));

  probes(app, options);

  app.use(
    '/api/v1',
    express.json({
      limit: options.bodyLimit,
      strict: true,
      type: ['application/json', 'application/*+json'],
    }),
  );
  app.use('/api/v1', (req, _res, next) => {
    // A body the JSON parser did not take is in a media type no route here reads.
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] ?? '0') !== '0';
    if (req.body === undefined && hasBody) {
      return next(
        new AppError(
          'unsupported_media_type',
          `send the body as application/json (got ${req.headers['content-type'] ?? 'no content type'})`,
        ),
      );
    }
    next();
  });
  app.use('/api/v1', optionsFromTable(options.routes));
  for (const router of options.api) app.use('/api/v1', router);
  app.use('/api/v1', methodNotAllowed(options.routes));
  for (const router of options.root ?? []) app.use(router);

  app.use(notFoundMiddleware);
  app.use(errorMiddleware(logger, options.mapError));
  return app;
}
