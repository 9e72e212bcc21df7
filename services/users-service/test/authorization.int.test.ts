import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '@suite/contracts';
import { call } from '@suite/testkit';
import { startUsersService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startUsersService>>;
type Who = 'anonymous' | 'self' | 'other' | 'admin' | 'service';
const who: Record<Who, string | undefined> = { anonymous: undefined, self: '', other: '', admin: '', service: '' };
let selfId = 0;
let ids: { workspace: number; group: number; permission: number } = { workspace: 0, group: 0, permission: 0 };

beforeAll(async () => {
  ctx = await startUsersService('authz');
  who.admin = await tokens.admin();
  const make = async (path: string, body: unknown) => (await call('POST', `${ctx.api}${path}`, { token: who.admin, body })).body as { id: number };
  selfId = (await make('/users', { username: 'selfie', email: 'selfie@example.com', firstName: 'S', lastName: 'S' })).id;
  const otherId = (await make('/users', { username: 'otto', email: 'otto@example.com', firstName: 'O', lastName: 'O' })).id;
  who.self = await tokens.user(selfId);
  who.other = await tokens.user(otherId);
  who.service = await tokens.service();
  ids = { workspace: (await make('/workspaces', { name: 'W' })).id, group: (await make('/groups', { name: 'G' })).id, permission: 0 };
  ids.permission = (await make(`/workspaces/${ids.workspace}/permissions`, { userId: otherId, role: 'viewer' })).id;
});
afterAll(() => ctx.service.stop());

// Expected status per caller. Writes by admins use a fresh target so the matrix is order-free.
const userBody = (n: string) => ({ username: n, email: `${n}@example.com`, firstName: 'A', lastName: 'B' });
const matrix: { name: string; method: string; path: () => string; body?: () => unknown; expect: Record<Who, number> }[] = [
  { name: 'list users', method: 'GET', path: () => '/users', expect: { anonymous: 401, self: 200, other: 200, admin: 200, service: 403 } },
  { name: 'search users', method: 'GET', path: () => '/users/search?q=sel', expect: { anonymous: 401, self: 200, other: 200, admin: 200, service: 403 } },
  { name: 'get user', method: 'GET', path: () => `/users/${selfId}`, expect: { anonymous: 401, self: 200, other: 200, admin: 200, service: 403 } },
  { name: 'create user', method: 'POST', path: () => '/users', body: () => userBody(`n${Math.random().toString(36).slice(2, 10)}`), expect: { anonymous: 401, self: 403, other: 403, admin: 201, service: 403 } },
  { name: 'patch user', method: 'PATCH', path: () => `/users/${selfId}`, body: () => ({ firstName: 'Z' }), expect: { anonymous: 401, self: 200, other: 403, admin: 200, service: 403 } },
  { name: 'put user', method: 'PUT', path: () => `/users/${selfId}`, body: () => userBody('selfie'), expect: { anonymous: 401, self: 200, other: 403, admin: 400, service: 403 } },
  { name: 'user workspaces', method: 'GET', path: () => `/users/${selfId}/workspaces`, expect: { anonymous: 401, self: 200, other: 403, admin: 200, service: 403 } },
  { name: 'delete user', method: 'DELETE', path: () => '/users/987654321', expect: { anonymous: 401, self: 403, other: 403, admin: 404, service: 403 } },
  { name: 'list workspaces', method: 'GET', path: () => '/workspaces', expect: { anonymous: 401, self: 403, other: 403, admin: 200, service: 403 } },
  { name: 'create workspace', method: 'POST', path: () => '/workspaces', body: () => ({ name: 'X' }), expect: { anonymous: 401, self: 403, other: 403, admin: 201, service: 403 } },
  { name: 'get workspace', method: 'GET', path: () => `/workspaces/${ids.workspace}`, expect: { anonymous: 401, self: 403, other: 403, admin: 200, service: 403 } },
  { name: 'rename workspace', method: 'PATCH', path: () => `/workspaces/${ids.workspace}`, body: () => ({ name: 'Y' }), expect: { anonymous: 401, self: 403, other: 403, admin: 200, service: 403 } },
  { name: 'delete workspace', method: 'DELETE', path: () => '/workspaces/987654321', expect: { anonymous: 401, self: 403, other: 403, admin: 404, service: 403 } },
  { name: 'list permissions', method: 'GET', path: () => `/workspaces/${ids.workspace}/permissions`, expect: { anonymous: 401, self: 403, other: 403, admin: 200, service: 403 } },
  { name: 'grant', method: 'POST', path: () => `/workspaces/${ids.workspace}/permissions`, body: () => ({ groupId: ids.group, role: 'member' }), expect: { anonymous: 401, self: 403, other: 403, admin: 201, service: 403 } },
  { name: 'revoke', method: 'DELETE', path: () => `/workspaces/${ids.workspace}/permissions/987654321`, expect: { anonymous: 401, self: 403, other: 403, admin: 404, service: 403 } },
  { name: 'list groups', method: 'GET', path: () => '/groups', expect: { anonymous: 401, self: 403, other: 403, admin: 200, service: 403 } },
  { name: 'create group', method: 'POST', path: () => '/groups', body: () => ({ name: `g${Math.random().toString(36).slice(2, 10)}` }), expect: { anonymous: 401, self: 403, other: 403, admin: 201, service: 403 } },
  { name: 'get group', method: 'GET', path: () => `/groups/${ids.group}`, expect: { anonymous: 401, self: 403, other: 403, admin: 200, service: 403 } },
  { name: 'delete group', method: 'DELETE', path: () => '/groups/987654321', expect: { anonymous: 401, self: 403, other: 403, admin: 404, service: 403 } },
  { name: 'add member', method: 'POST', path: () => `/groups/${ids.group}/members`, body: () => ({ userId: selfId }), expect: { anonymous: 401, self: 403, other: 403, admin: 201, service: 403 } },
  { name: 'remove member', method: 'DELETE', path: () => `/groups/${ids.group}/members/987654321`, expect: { anonymous: 401, self: 403, other: 403, admin: 404, service: 403 } },
];

describe('authorization matrix', () => {
  for (const route of matrix) {
    for (const caller of Object.keys(route.expect) as Who[]) {
      it(`${route.name} as ${caller} → ${route.expect[caller]}`, async () => {
        const res = await call(route.method, `${ctx.api}${route.path()}`, { token: who[caller], ...(route.body ? { body: route.body() } : {}) });
        expect(res.status, JSON.stringify(res.body)).toBe(route.expect[caller]);
        if (res.status === 401 || res.status === 403) {
          // A denial carries the error shape and nothing else: no user data leaks.
          const body = ErrorBody.parse(res.body);
          expect(Object.keys(body).sort()).toEqual(['error', 'requestId']);
          expect(JSON.stringify(body)).not.toMatch(/selfie@|otto@/);
        }
      });
    }
  }
});
