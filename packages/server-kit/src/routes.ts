import {
  AppError,
  IdParam,
  expressPath,
  routesAt,
  shadowedPaths,
  type ApiAccess,
  type ApiRoute,
} from '@suite/contracts';
import {
  assertAdmin,
  assertScope,
  assertSelfOrAdmin,
  assertUser,
  principalOf,
  type Principal,
} from '@suite/auth';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { rateLimit } from './rate-limits.js';
import { sendJson } from './respond.js';
import { parseInput } from './validate.js';

/** The names of a path template's parameters: `'id' | 'permissionId'` for `/workspaces/{id}/permissions/{permissionId}`. */
type PathParams<P extends string> = P extends `${string}{${infer Name}}${infer Rest}`
  ? Name | PathParams<Rest>
  : never;
/** Schema `S`'s parsed value, or `Else` when the route declares none. */
type Parsed<S, Else> = S extends z.ZodType ? z.output<S> : Else;

/** A body already serialised to JSON (a hot read built as text): sent as it is. */
export class JsonText {
  constructor(readonly json: string | Buffer) {}
}
export const jsonText = (json: string | Buffer): JsonText => new JsonText(json);

/** What a route's handler receives: the request's input validated by the route's schemas, and who asked. */
export interface RouteInput<R extends ApiRoute, B extends BodyMode = 'parsed'> {
  /** Path parameters: every one is an id. */
  params: { [K in PathParams<R['path']>]: number };
  query: Parsed<R['query'], Record<string, never>>;
  /** The body as the route's schema parsed it; `unknown` for a route that reads its body itself (`body: 'raw'`). */
  body: B extends 'raw' ? unknown : Parsed<R['body'], undefined>;
  /** The caller (undefined only on public routes). */
  principal: R['access'] extends 'anyone' ? undefined : Principal;
  req: Request;
  res: Response;
}

type OkBody<S> = S extends z.ZodType ? z.input<S> | JsonText : undefined;
/**
 * What a handler answers: the route's declared success status and its body, typed by the route's
 * schema (or JSON text built for a hot read); 202 with its body where the route declares it; 304 on
 * a versioned route. A status the route does not declare does not compile.
 */
export type RouteReply<R extends ApiRoute> =
  | { status: R['ok'][0]; body: OkBody<R['ok'][1]>; headers?: Record<string, string> }
  | (R['accepted'] extends z.ZodType
      ? { status: 202; body: z.input<R['accepted']>; headers?: Record<string, string> }
      : never)
  | (R['versioned'] extends string
      ? { status: 304; body?: undefined; headers?: Record<string, string> }
      : never);

/** Whether the route's table body is parsed before the handler runs, or read by the handler itself (CloudEvents' binary mode). */
export type BodyMode = 'parsed' | 'raw';

/** The table's `access`, enforced: 401 without a principal, 403 when it may not call the route. */
function enforce(
  access: ApiAccess,
  req: Request,
  params: Record<string, number>,
): Principal | undefined {
  if (access === 'anyone') return undefined;
  const principal = principalOf(req);
  if (access === 'any user') assertUser(principal);
  else if (access === 'admin') assertAdmin(principal);
  else if (access === 'the user or an admin') assertSelfOrAdmin(principal, params.id!);
  else assertScope(principal, access.slice('scope '.length));
  return principal;
}

function send(
  res: Response,
  reply: { status: number; body?: unknown; headers?: Record<string, string> },
): void {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  res.status(reply.status);
  if (reply.body === undefined || reply.body === null) res.end();
  else if (reply.body instanceof JsonText) sendJson(res, reply.body.json);
  else res.json(reply.body);
}

/** Where the route sits in Express: its path, the guard for paths a more literal route owns, its budget. */
function register(router: Router, apiRoute: ApiRoute, handler: RequestHandler): void {
  const shadowed = new Set(shadowedPaths(apiRoute));
  const guard: RequestHandler[] =
    shadowed.size === 0
      ? []
      : [
          (req, _res, next) =>
            shadowed.has(`${req.baseUrl}${req.path}`.replace(/(.)\/$/, '$1'))
              ? next('route')
              : next(),
        ];
  // A stream handshake takes its budget itself once the token is verified (WebSocket upgrades never reach Express).
  const limit = apiRoute.rate === 'stream' ? [] : [rateLimit(apiRoute.rate)];
  router[apiRoute.method](expressPath(apiRoute), ...guard, ...limit, handler);
}

/**
 * Serves a route of the contracts' route table as the table declares it: at its path and method,
 * behind the caller's budget for its rate class; its path parameters, query and body validated by
 * its schemas (400 naming each field); its `access` enforced (401/403); the handler's typed reply
 * sent with its status. A path a more literal route owns (`/users/search` for `/users/{id}`) is left
 * to it, so a method that route lacks answers 405 instead of reaching this one.
 *
 * The checks run in this order: path, access, query, body (a caller who may not call the route
 * learns nothing from how its query or body are wrong).
 */
export function route<const R extends ApiRoute, B extends BodyMode = 'parsed'>(
  router: Router,
  apiRoute: R,
  handler: (input: RouteInput<R, B>) => Promise<RouteReply<R>> | RouteReply<R>,
  options: { body?: B } = {},
): void {
  const names = [...apiRoute.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  register(router, apiRoute, async (req, res) => {
    const params: Record<string, number> = {};
    for (const name of names) params[name] = parseInput(IdParam, req.params[name], 'path');
    const principal = enforce(apiRoute.access, req, params);
    const query = apiRoute.query ? parseInput(apiRoute.query, req.query, 'query') : {};
    const body =
      options.body === 'raw' || !apiRoute.body
        ? req.body
        : parseInput(apiRoute.body, req.body, 'body');
    const input = { params, query, body, principal, req, res } as RouteInput<R, B>;
    send(res, await handler(input));
  });
}

/**
 * A route whose handler owns its authentication and input (the stream: its token may come in the
 * query, and the WebSocket upgrade shares the same handshake): only its place and guard come from
 * the table.
 */
export function routeStream(router: Router, apiRoute: ApiRoute, handler: RequestHandler): void {
  register(router, apiRoute, handler);
}

/** The methods a path answers (HEAD with GET), as an `Allow` header lists them. */
function allowed(routes: ApiRoute[]): string {
  const methods = new Set(routes.map((r) => r.method.toUpperCase()));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods, 'OPTIONS'].join(', ');
}

/** OPTIONS on a path of this service's routes: 204 with `Allow` from the route table (Express would list every overlapping route's methods). */
export function optionsFromTable(routes: ApiRoute[]) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'OPTIONS') return next();
    const here = routesAt(req.originalUrl.split('?')[0] ?? '/', routes);
    if (here.length === 0) return next();
    res.setHeader('allow', allowed(here));
    res.status(204).end();
  };
}

/**
 * 405 with `Allow` for a path of this service's routes asked with a method it does not take;
 * anything else falls through (to 404). Mounted after the routers, so it only sees the unmatched.
 */
export function methodNotAllowed(routes: ApiRoute[]) {
  return (req: Request, res: Response, next: NextFunction) => {
    const here = routesAt(req.originalUrl.split('?')[0] ?? '/', routes);
    if (here.length === 0) return next();
    res.setHeader('allow', allowed(here));
    next(
      new AppError('method_not_allowed', `${req.method} is not allowed here; use ${allowed(here)}`),
    );
  };
}
