import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiRoutes, type ApiRoute } from '@suite/contracts';
import { call } from '@suite/testkit';
import { startUsersService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startUsersService>>;
let spec: {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        responses: Record<
          string,
          { content?: { 'application/json': { schema: object } }; $ref?: string }
        >;
      }
    >
  >;
  components: {
    responses: Record<string, { content: { 'application/json': { schema: object } } }>;
  };
};

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
  if (response.$ref)
    return spec.components.responses[response.$ref.split('/').at(-1)!]!.content['application/json']
      .schema;
  return response.content!['application/json'].schema;
}

describe('OpenAPI document', () => {
  it('when real responses are checked against the document, then it is OpenAPI 3.1 and they match it', async () => {
    expect(spec.openapi).toBe('3.1.0');
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const admin = await tokens.admin();
    const created = await call('POST', `${ctx.api}/users`, {
      token: admin,
      body: { username: 'spec', email: 'spec@example.com', firstName: 'S', lastName: 'P' },
    });
    const id = (created.body as { id: number }).id;
    const ws = await call('POST', `${ctx.api}/workspaces`, {
      token: admin,
      body: { name: 'Spec' },
    });
    const checks: [string, string, { status: number; body: unknown }][] = [
      ['/users', 'post', created],
      ['/users', 'get', await call('GET', `${ctx.api}/users`, { token: admin })],
      [
        '/users/search',
        'get',
        await call('GET', `${ctx.api}/users/search?q=spe`, { token: admin }),
      ],
      ['/users/{id}', 'get', await call('GET', `${ctx.api}/users/${id}`, { token: admin })],
      ['/users/{id}', 'get', await call('GET', `${ctx.api}/users/99999999`, { token: admin })],
      [
        '/users/{id}',
        'patch',
        await call('PATCH', `${ctx.api}/users/${id}`, { token: admin, body: { nope: 1 } }),
      ],
      [
        '/users/{id}/workspaces',
        'get',
        await call('GET', `${ctx.api}/users/${id}/workspaces`, { token: admin }),
      ],
      ['/workspaces', 'post', ws],
      ['/workspaces', 'get', await call('GET', `${ctx.api}/workspaces`, { token: admin })],
      [
        '/groups',
        'post',
        await call('POST', `${ctx.api}/groups`, { token: admin, body: { name: 'spec-group' } }),
      ],
      ['/users', 'get', await call('GET', `${ctx.api}/users`)],
    ];
    for (const [path, method, res] of checks) {
      const validate = ajv.compile(schemaFor(path, method, res.status));
      expect(
        validate(res.body),
        `${method} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}`,
      ).toBe(true);
    }
  });

  it("when the document is served, then it is the whole suite's: every operation of the route table, activity and stream routes included", () => {
    const served = Object.entries(spec.paths).flatMap(([path, operations]) =>
      Object.keys(operations as object).map((method) => `${method} ${path}`),
    );
    const table = Object.values(ApiRoutes as Record<string, ApiRoute>).map(
      (r) => `${r.method} ${r.path}`,
    );
    expect(served.sort()).toEqual(table.sort());
    expect(
      new Set(Object.values(ApiRoutes as Record<string, ApiRoute>).map((r) => r.service)),
    ).toEqual(new Set(['users', 'activity', 'gateway']));
  });
});

describe('inputs a client can send', () => {
  it("when PATCH or PUT takes another user's username or email, then the answer is 409 naming the field and nothing changes", async () => {
    const admin = await tokens.admin();
    const make = async (name: string) =>
      (
        await call('POST', `${ctx.api}/users`, {
          token: admin,
          body: { username: name, email: `${name}@example.com`, firstName: 'A', lastName: 'B' },
        })
      ).body as { id: number };
    const [a, b] = [await make('taken-a'), await make('taken-b')];
    const full = {
      username: 'taken-b',
      email: 'taken-b2@example.com',
      firstName: 'A',
      lastName: 'B',
      isActive: true,
      roles: [],
    };
    for (const [method, body, field] of [
      ['PATCH', { username: 'TAKEN-A' }, 'username'],
      ['PATCH', { email: 'taken-a@example.com' }, 'email'],
      ['PUT', { ...full, username: 'taken-a' }, 'username'],
      ['PUT', { ...full, email: 'Taken-A@example.com' }, 'email'],
    ] as const) {
      const res = await call(method, `${ctx.api}/users/${b.id}`, { token: admin, body });
      expect(res.status, `${method} ${JSON.stringify(body)}`).toBe(409);
      expect((res.body as { error: { details: { path: string }[] } }).error.details[0]!.path).toBe(
        `body.${field}`,
      );
    }
    const after = await call('GET', `${ctx.api}/users/${b.id}`, { token: admin });
    expect(after.body).toMatchObject({ username: 'taken-b', email: 'taken-b@example.com' });
    expect((await call('GET', `${ctx.api}/users/${a.id}`, { token: admin })).body).toMatchObject({
      username: 'taken-a',
    });
  });

  it('when a path has malformed percent-encoding, then the answer is 400, not 500', async () => {
    const admin = await tokens.admin();
    for (const path of [
      '/users/%E0',
      '/users/%E0/workspaces',
      '/workspaces/%',
      '/groups/%FF%FE/members/1',
    ]) {
      const res = await call('GET', `${ctx.api}${path}`, { token: admin });
      expect(res.status, path).toBe(400);
      expect((res.body as { error: { code: string } }).error.code).toBe('bad_request');
    }
  });

  it('when a path does not take a method, then the answer is 405 with Allow, and an unknown path 404', async () => {
    const admin = await tokens.admin();
    const res = await fetch(`${ctx.api}/workspaces`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, GET, HEAD, OPTIONS');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'method_not_allowed',
    );
    expect(
      (
        await fetch(`${ctx.api}/users/1`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}` },
        })
      ).status,
    ).toBe(405);
    expect((await call('GET', `${ctx.api}/nothing-here`, { token: admin })).status).toBe(404);
  });

  it('when requests sit at the documented bounds, then they are answered, and one past them is 400', async () => {
    const admin = await tokens.admin();
    expect((await call('GET', `${ctx.api}/users?page_size=100`, { token: admin })).status).toBe(
      200,
    );
    expect((await call('GET', `${ctx.api}/users?page_size=101`, { token: admin })).status).toBe(
      400,
    );
    expect((await call('GET', `${ctx.api}/users?page=100000000`, { token: admin })).status).toBe(
      404,
    );
    expect((await call('GET', `${ctx.api}/users?page=100000001`, { token: admin })).status).toBe(
      400,
    );
    const ws = (
      await call('POST', `${ctx.api}/workspaces`, { token: admin, body: { name: 'Bounds' } })
    ).body as { id: number };
    const grant = (body: unknown) =>
      call('POST', `${ctx.api}/workspaces/${ws.id}/permissions`, { token: admin, body });
    expect((await grant({ userId: 1, role: 'viewer' })).status).toBe(201);
    expect((await grant({ userId: 1, groupId: 2, role: 'viewer' })).status).toBe(400);
    expect((await grant({ role: 'viewer' })).status).toBe(400);
  });

  it('when a body is text, then the answer is 415', async () => {
    const res = await fetch(`${ctx.api}/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await tokens.admin()}`, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(415);
  });
});
