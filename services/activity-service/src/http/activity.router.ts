import { Router } from 'express';
import { authenticate, type TokenVerifier } from '@suite/auth';

/** Activity reads and ingestion; every route needs a bearer token. */
export function activityRouter(verifier: TokenVerifier): Router {
  const router = Router();
  router.use(['/users', '/activities'], authenticate(verifier));
  return router;
}
