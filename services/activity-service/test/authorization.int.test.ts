import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationMatrix, call, expectAccess, type Caller } from '@suite/testkit';
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
  for (const one of authorizationMatrix('activity')) {
    const { route, caller, path, denial } = one;
    it(`when ${caller} calls ${route.method.toUpperCase()} ${route.path} (access: ${route.access}), then ${denial ?? 'the call passes the access check'}`, async () => {
      expectAccess(
        one,
        await call(route.method.toUpperCase(), `${ctx.api}${path(SELF)}`, { token: who[caller] }),
      );
    });
  }
  it('when an id is not an integer, then anyone allowed to ask gets 400', async () => {
    expect(
      (await call('GET', `${ctx.api}/users/abc/activities`, { token: who.admin })).status,
    ).toBe(400);
  });
});
