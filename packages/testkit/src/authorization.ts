import { expect } from 'vitest';
import {
  ApiRoutes,
  ErrorBody,
  errorStatuses,
  type ApiAccess,
  type ApiRoute,
  type ApiService,
} from '@suite/contracts';

/** Who calls: no token, the user the path names, another user, an admin, a publishing service (scope activity:write). */
export type Caller = 'anonymous' | 'self' | 'other' | 'admin' | 'service';
export const CALLERS: readonly Caller[] = ['anonymous', 'self', 'other', 'admin', 'service'];

/** The denial a route's `access` gives `caller` (401 or 403), or undefined when it lets them through. */
export function denialOf(access: ApiAccess, caller: Caller): 401 | 403 | undefined {
  if (access === 'anyone') return undefined;
  if (caller === 'anonymous') return 401;
  if (caller === 'admin') return undefined;
  const allowed = {
    'any user': caller === 'self' || caller === 'other',
    'the user or an admin': caller === 'self',
    admin: false,
    'scope activity:write': caller === 'service',
  }[access];
  return allowed ? undefined : 403;
}

/** The statuses a route documents: its success (and 202, 304 where declared) and its errors. */
export function documentedStatuses(route: ApiRoute): number[] {
  return [
    route.ok[0],
    ...(route.accepted ? [202] : []),
    ...(route.versioned ? [304] : []),
    ...errorStatuses(route),
  ];
}

/** One call of the matrix: a route of the table, a caller, the path to ask, and the denial expected (if any). */
export interface AuthorizationCase {
  route: ApiRoute;
  caller: Caller;
  /** The request path below `API_PREFIX`: `{id}` is `self` where the route's access depends on it, every other parameter an id that does not exist. */
  path: (self: number) => string;
  denial: 401 | 403 | undefined;
}

/** Every route of `service` in the route table against every caller: a route declared is a route covered. */
export function authorizationMatrix(service: ApiService): AuthorizationCase[] {
  const routes = Object.values(ApiRoutes as Record<string, ApiRoute>).filter(
    (r) => r.service === service,
  );
  return routes.flatMap((route) =>
    CALLERS.map((caller) => ({
      route,
      caller,
      path: (self: number) => {
        const ownId = route.access === 'the user or an admin' || route.access === 'any user';
        return route.path.replace(/\{(\w+)\}/g, (_, name: string) =>
          String(name === 'id' && ownId ? self : 987_654_321),
        );
      },
      denial: denialOf(route.access, caller),
    })),
  );
}

/**
 * What a matrix call must answer: the denial, carrying the error shape and nothing else (no text
 * matching `leaks`); or, let through, a status the route documents.
 */
export function expectAccess(
  one: AuthorizationCase,
  res: { status: number; body: unknown },
  leaks?: RegExp,
): void {
  if (one.denial) {
    expect(res.status, JSON.stringify(res.body)).toBe(one.denial);
    const body = ErrorBody.parse(res.body);
    expect(Object.keys(body).sort()).toEqual(['error', 'requestId']);
    if (leaks) expect(JSON.stringify(body)).not.toMatch(leaks);
  } else {
    expect([401, 403]).not.toContain(res.status);
    expect(documentedStatuses(one.route)).toContain(res.status);
  }
}
