import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '@suite/contracts';
import { authorizationMatrix, call, documentedStatuses, type Caller } from '@suite/testkit';
import { startActivityService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
const SELF = 301;
const who: Partial<Record<Caller, string>> = {};

beforeAll(async () => {
  ctx = await startActivityService('authz');
  who.self = await tokens.user(SELF);
  who.other = await tokens.user(302);
  who.admin = await tokens.admin();
  who.service = await tokens.writer();
});
afterAll(() => ctx.stop());

// Generated from the route table: a route declared is a route covered, for every caller.
describe('authorization matrix (from the route table)', () => {
  for (const { route, caller, path, denial } of authorizationMatrix('activity')) {
    it(`when ${caller} calls ${route.method.toUpperCase()} ${route.path} (access: ${route.access}), then ${denial ?? 'the call passes the access check'}`, async () => {
      const res = await call(route.method.toUpperCase(), `${ctx.api}${path(SELF)}`, { token: who[caller] });
      if (denial) {
        expect(res.status, JSON.stringify(res.body)).toBe(denial);
        // A denial carries the error shape and nothing else.
        expect(Object.keys(ErrorBody.parse(res.body)).sort()).toEqual(['error', 'requestId']);
      } else {
        expect([401, 403]).not.toContain(res.status);
        expect(documentedStatuses(route)).toContain(res.status);
      }
    });
  }
  it('when an id is not an integer, then anyone allowed to ask gets 400', async () => {
    expect((await call('GET', `${ctx.api}/users/abc/activities`, { token: who.admin })).status).toBe(400);
  });
});
