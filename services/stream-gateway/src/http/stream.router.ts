import { Router } from 'express';
import { authenticate, type TokenVerifier } from '@suite/auth';

/** HTTP side of the stream routes (SSE); authentication comes first. */
export function streamRouter(verifier: TokenVerifier): Router {
  const router = Router();
  router.use('/users', authenticate(verifier));
  return router;
}
