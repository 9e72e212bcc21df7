import { AppError, expressPath, routesAt, type ApiRoute } from '@suite/contracts';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';

/** Registers `handlers` for a route of the contracts' route table, at its path and method. */
export function route(router: Router, apiRoute: ApiRoute, ...handlers: RequestHandler[]): void {
  router[apiRoute.method](expressPath(apiRoute), ...handlers);
}

/** The methods a path answers (HEAD with GET), as an `Allow` header lists them. */
function allowed(routes: ApiRoute[]): string {
  const methods = new Set(routes.map((r) => r.method.toUpperCase()));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods, 'OPTIONS'].join(', ');
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
