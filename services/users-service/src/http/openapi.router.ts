import { Router } from 'express';
import { ApiRoutes, buildOpenApi } from '@suite/contracts';
import { jsonText, route } from '@suite/server-kit';

/** Serves the OpenAPI document of the whole suite (public, like health endpoints); the edge sends it here. */
export function openApiRouter(): Router {
  const router = Router();
  const document = jsonText(JSON.stringify(buildOpenApi()));
  route(router, ApiRoutes.openApi, () => ({ status: 200, body: document }));
  return router;
}
