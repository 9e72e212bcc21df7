import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '@suite/contracts';
import { call } from '@suite/testkit';
import { activityEvent, startActivityService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
type Who = 'anonymous' | 'self' | 'other' | 'admin' | 'service';
const who: Partial<Record<Who, string>> = {};

beforeAll(async () => {
  ctx = await startActivityService('authz');
  who.self = await tokens.user(301);
  who.other = await tokens.user(302);
  who.admin = await tokens.admin();
  who.service = await tokens.writer();
});
afterAll(() => ctx.stop());

const reads = { anonymous: 401, self: 200, other: 403, admin: 200, service: 403 };
const matrix: { name: string; method: string; path: string; body?: () => unknown; expect: Record<Who, number> }[] = [
  { name: 'activities', method: 'GET', path: '/users/301/activities', expect: reads },
  { name: 'activity count', method: 'GET', path: '/users/301/activity-count', expect: reads },
  { name: 'active workspaces', method: 'GET', path: '/users/301/active-workspaces', expect: reads },
  { name: 'ingest', method: 'POST', path: '/activities', body: () => activityEvent(301), expect: { anonymous: 401, self: 403, other: 403, admin: 202, service: 202 } },
];

describe('authorization matrix', () => {
  for (const route of matrix) {
    for (const caller of Object.keys(route.expect) as Who[]) {
      it(`${route.name} as ${caller} → ${route.expect[caller]}`, async () => {
        const res = await call(route.method, `${ctx.api}${route.path}`, { token: who[caller], ...(route.body ? { body: route.body() } : {}) });
        expect(res.status, JSON.stringify(res.body)).toBe(route.expect[caller]);
        if (res.status >= 400) expect(Object.keys(ErrorBody.parse(res.body)).sort()).toEqual(['error', 'requestId']);
      });
    }
  }
  it('an id that is not an integer is 400 for anyone allowed to ask', async () => {
    expect((await call('GET', `${ctx.api}/users/abc/activities`, { token: who.admin })).status).toBe(400);
  });
});
