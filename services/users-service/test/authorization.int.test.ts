import { afterAll, beforeAll, describe, it } from 'vitest';
import { authorizationMatrix, call, expectAccess, type Caller } from '@suite/testkit';
import { startUsersService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startUsersService>>;
const who: Record<Caller, string | undefined> = {
  anonymous: undefined,
  self: '',
  other: '',
  admin: '',
  service: '',
};
let selfId = 0;

beforeAll(async () => {
  ctx = await startUsersService('authz');
  who.admin = await tokens.admin();
  const make = async (path: string, body: unknown) =>
    (await call('POST', `${ctx.api}${path}`, { token: who.admin, body })).body as { id: number };
  selfId = (
    await make('/users', {
      username: 'selfie',
      email: 'selfie@example.com',
      firstName: 'S',
      lastName: 'S',
    })
  ).id;
  const otherId = (
    await make('/users', {
      username: 'otto',
      email: 'otto@example.com',
      firstName: 'O',
      lastName: 'O',
    })
  ).id;
  who.self = await tokens.user(selfId);
  who.other = await tokens.user(otherId);
  who.service = await tokens.writer();
});
afterAll(() => ctx.service.stop());

// Generated from the route table: a route declared is a route covered, for every caller. The
// calls carry no body, so an allowed write stops at validation and nothing changes between cases.
describe('authorization matrix (from the route table)', () => {
  for (const one of authorizationMatrix('users')) {
    const { route, caller, path, denial } = one;
    it(`when ${caller} calls ${route.method.toUpperCase()} ${route.path} (access: ${route.access}), then ${denial ?? 'the call passes the access check'}`, async () => {
      expectAccess(
        one,
        await call(route.method.toUpperCase(), `${ctx.api}${path(selfId)}`, { token: who[caller] }),
        /selfie@|otto@/,
      );
    });
  }
});
