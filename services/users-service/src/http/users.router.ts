import { Router } from 'express';
import { authenticate, type TokenVerifier } from '@suite/auth';

/** The Users API routes; every one needs a bearer token. */
export function usersRouter(verifier: TokenVerifier): Router {
  const router = Router();
  router.use('/users', authenticate(verifier));
  return router;
}
