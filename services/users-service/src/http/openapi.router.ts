import { Router } from 'express';
import { ApiRoutes, buildOpenApi } from '@suite/contracts';
import { parseInput, route, sendJson } from '@suite/server-kit';

/** Serves the OpenAPI document of the whole suite (public, like health endpoints); the edge sends it here. */
export function openApiRouter(): Router {
  const router = Router();
  const document = JSON.stringify(buildOpenApi());
  route(router, ApiRoutes.openApi, (req, res) => {
    parseInput(ApiRoutes.openApi.query, req.query, 'query');
    sendJson(res, document);
  });
  return router;
}
