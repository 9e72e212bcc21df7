import { AppError } from '@suite/contracts';
import type { NextFunction, Request, Response } from 'express';
import { canActAs, isAdmin, type Principal } from './principal.js';
import type { TokenVerifier } from './verifier.js';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Extracts the token from `Authorization: Bearer <token>`; undefined when absent. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  if (!match) throw new AppError('unauthorized', 'authorization header must be "Bearer <token>"');
  return match[1];
}

/** Express middleware: verifies the bearer token and sets `req.principal`, or 401. */
export function authenticate(verifier: TokenVerifier) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    try {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw new AppError('unauthorized', 'a bearer token is required');
      req.principal = await verifier.verify(token);
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** The authenticated principal; only valid after `authenticate`. */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new AppError('unauthorized', 'a bearer token is required');
  return req.principal;
}

/** Asserts the principal is an admin. */
export function assertAdmin(p: Principal): void {
  if (!isAdmin(p)) throw new AppError('forbidden', 'admin role required');
}

/** Asserts the principal is the user themself or an admin. */
export function assertSelfOrAdmin(p: Principal, userId: number): void {
  if (!canActAs(p, userId))
    throw new AppError('forbidden', 'you may only access your own resources');
}

/** Asserts the principal is a user (any user) or an admin. */
export function assertUser(p: Principal): void {
  if (p.kind !== 'user' && !isAdmin(p)) throw new AppError('forbidden', 'a user token is required');
}

/** Asserts the token carries a scope (admins pass). */
export function assertScope(p: Principal, scope: string): void {
  if (!isAdmin(p) && !p.scopes.includes(scope))
    throw new AppError('forbidden', `scope "${scope}" required`);
}
