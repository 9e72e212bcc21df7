import { Router } from 'express';
import { buildOpenApi } from './openapi.js';

/** Serves the generated OpenAPI document (public, like health endpoints). */
export function openApiRouter(): Router {
  const router = Router();
  const document = buildOpenApi();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  return router;
}
