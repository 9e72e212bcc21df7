import type { Express } from 'express';
import { describe, expect, it } from 'vitest';
import {
  ApiRoutes,
  buildOpenApi,
  routesOf,
  serviceFor,
  type ApiRouteName,
  type ApiService,
} from '@suite/contracts';
import { createUsersService, loadUsersConfig } from '@suite/users-service';
import { createActivityService, loadActivityConfig } from '@suite/activity-service';
import { createGatewayService, loadGatewayConfig } from '@suite/stream-gateway';
import { TEST_ORIGIN_KEY } from '@suite/testkit';

/** Built, never started: nothing here connects to a server. */
const env = {
  JWT_SECRET: 'api-description-test-secret-0123456789',
  USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
  LOG_LEVEL: 'silent',
};

interface Layer {
  rawPath?: unknown;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every `METHOD /path` an Express app registers below `/api/v1`, read from its router stacks. */
function registeredRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods))
          if (on && method !== '_all')
            found.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
      } else if (layer.handle.stack) walk(layer.handle.stack, prefix + mount);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return found.filter((r) => r.split(' ')[1]!.startsWith('/api/v1/')).sort();
}

/** The operations the document lists for one service, written the way Express registers them. */
function documented(service: ApiService): string[] {
  const doc = buildOpenApi() as {
    paths: Record<string, Record<string, { operationId: ApiRouteName }>>;
  };
  return Object.entries(doc.paths)
    .flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, op]) => ApiRoutes[op.operationId].service === service)
        .map(([method]) => `${method.toUpperCase()} /api/v1${path.replace(/\{(\w+)\}/g, ':$1')}`),
    )
    .sort();
}

describe('the API description', () => {
  it('lists exactly the routes each service registers: none missing, none invented', async () => {
    const apps: [ApiService, Express][] = [
      ['users', (await createUsersService(loadUsersConfig(env))).app],
      ['activity', (await createActivityService(loadActivityConfig(env))).app],
      ['gateway', (await createGatewayService(loadGatewayConfig(env))).app],
    ];
    for (const [service, app] of apps) {
      const registered = registeredRoutes(app);
      expect(registered.length, service).toBeGreaterThan(0);
      expect(registered, service).toEqual(documented(service));
    }
  });

  it('routes every documented path to the service that registers it', () => {
    for (const route of Object.values(ApiRoutes)) {
      const concrete = `/api/v1${route.path.replace(/\{\w+\}/g, '123')}`;
      expect(serviceFor(concrete), concrete).toBe(route.service);
      expect(serviceFor(`${concrete}/`), `${concrete}/`).toBe(route.service);
    }
    expect(serviceFor('/api/v1/users/search')).toBe('users');
    expect(serviceFor('/api/v1/nothing-here')).toBeUndefined();
    expect(routesOf('gateway').map((r) => r.path)).toEqual(['/users/{id}/activity-stream']);
  });

  it("states the validators' bounds, patterns and oneOf", () => {
    const doc = buildOpenApi() as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters: { name: string; schema: Record<string, unknown> }[];
            requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
          }
        >
      >;
    };
    const pageSize = doc.paths['/users']!.get!.parameters.find((p) => p.name === 'page_size')!;
    expect(pageSize.schema).toEqual({ type: 'integer', minimum: 1, maximum: 100 });
    const page = doc.paths['/users']!.get!.parameters.find((p) => p.name === 'page')!;
    expect(page.schema).toEqual({ type: 'integer', minimum: 1, maximum: 100_000_000 });
    expect(
      doc.paths['/workspaces/{id}/permissions']!.post!.requestBody!.content['application/json']!
        .schema,
    ).toHaveProperty('oneOf');
    expect(
      doc.paths['/users/{id}']!.patch!.requestBody!.content['application/json']!.schema,
    ).toHaveProperty('minProperties', 1);
    expect(doc.paths['/users/{id}']!.get!.parameters[0]!.schema).toHaveProperty('pattern');
    expect(Object.keys(doc.paths['/activities']!.post!.requestBody!.content).sort()).toEqual([
      'application/cloudevents+json',
      'application/cloudevents-batch+json',
      'application/json',
    ]);
  });
});
