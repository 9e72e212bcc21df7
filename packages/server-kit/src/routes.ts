import { AppError, expressPath, rateClassOf, routesAt, shadowedPaths, type ApiRoute } from '@suite/contracts';
import { rateLimit } from './rate-limits.js';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';

/**
 * Registers `handlers` for a route of the contracts' route table, at its path and method, behind
 * the caller's budget for the route's rate class. A path a more literal route owns
 * (`/users/search` for `/users/:id`) is left to it, so a method that route lacks answers 405
 * instead of reaching this one.
 */
export function route(router: Router, apiRoute: ApiRoute, ...handlers: RequestHandler[]): void {
  const shadowed = new Set(shadowedPaths(apiRoute));
  const guard: RequestHandler[] =
    shadowed.size === 0 ? [] : [(req, _res, next) => (shadowed.has(`${req.baseUrl}${req.path}`.replace(/(.)\/$/, '$1')) ? next('route') : next())];
  // A stream handshake takes its budget itself once the token is verified (WebSocket upgrades never reach Express).
  const limit = rateClassOf(apiRoute) === 'stream' ? [] : [rateLimit(rateClassOf(apiRoute))];
  router[apiRoute.method](expressPath(apiRoute), ...guard, ...limit, ...handlers);
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
    next(new AppError('method_not_allowed', `${req.method} is not allowed here; use ${allowed(here)}`));
  };
}
