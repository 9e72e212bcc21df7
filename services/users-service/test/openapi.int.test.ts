import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '@suite/testkit';
import { startUsersService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startUsersService>>;
let spec: { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { content?: { 'application/json': { schema: object } }; $ref?: string }> }>>; components: { responses: { Error: { content: { 'application/json': { schema: object } } } } } };

beforeAll(async () => {
  ctx = await startUsersService('openapi');
  const res = await call('GET', `${ctx.api}/openapi.json`);
  expect(res.status).toBe(200);
  spec = res.body as typeof spec;
});
afterAll(() => ctx.service.stop());

function schemaFor(path: string, method: string, status: number): object {
  const response = spec.paths[path]?.[method]?.responses[String(status)];
  if (!response) throw new Error(`spec has no ${status} for ${method.toUpperCase()} ${path}`);
  if (response.$ref) return spec.components.responses.Error.content['application/json'].schema;
  return response.content!['application/json'].schema;
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and real responses match it', async () => {
    expect(spec.openapi).toBe('3.1.0');
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const admin = await tokens.admin();
    const created = await call('POST', `${ctx.api}/users`, { token: admin, body: { username: 'spec', email: 'spec@example.com', firstName: 'S', lastName: 'P' } });
    const id = (created.body as { id: number }).id;
    const ws = await call('POST', `${ctx.api}/workspaces`, { token: admin, body: { name: 'Spec' } });
    const checks: [string, string, { status: number; body: unknown }][] = [
      ['/users', 'post', created],
      ['/users', 'get', await call('GET', `${ctx.api}/users`, { token: admin })],
      ['/users/search', 'get', await call('GET', `${ctx.api}/users/search?q=spe`, { token: admin })],
      ['/users/{id}', 'get', await call('GET', `${ctx.api}/users/${id}`, { token: admin })],
      ['/users/{id}', 'get', await call('GET', `${ctx.api}/users/99999999`, { token: admin })],
      ['/users/{id}', 'patch', await call('PATCH', `${ctx.api}/users/${id}`, { token: admin, body: { nope: 1 } })],
      ['/users/{id}/workspaces', 'get', await call('GET', `${ctx.api}/users/${id}/workspaces`, { token: admin })],
      ['/workspaces', 'post', ws],
      ['/workspaces', 'get', await call('GET', `${ctx.api}/workspaces`, { token: admin })],
      ['/groups', 'post', await call('POST', `${ctx.api}/groups`, { token: admin, body: { name: 'spec-group' } })],
      ['/users', 'get', await call('GET', `${ctx.api}/users`)],
    ];
    for (const [path, method, res] of checks) {
      const validate = ajv.compile(schemaFor(path, method, res.status));
      expect(validate(res.body), `${method} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });

  it('documents every route the service answers', () => {
    expect(Object.keys(spec.paths).sort()).toEqual(
      ['/groups', '/groups/{id}', '/groups/{id}/members', '/groups/{id}/members/{userId}', '/users', '/users/search', '/users/{id}', '/users/{id}/workspaces', '/workspaces', '/workspaces/{id}', '/workspaces/{id}/permissions', '/workspaces/{id}/permissions/{permissionId}'].sort(),
    );
  });
});
