import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody, StreamCloseCodes, UserProfile } from '@suite/contracts';
import { call, eventually, startInProcess, testTokens } from '@suite/testkit';
import { createUsersService, loadUsersConfig } from '@suite/users-service';
import { openStream, refusedWith, startStack, token } from './helpers.js';

/** All three services on one test's names, as a deployment shares one Redis prefix. */
let stack: Awaited<ReturnType<typeof startStack>>;
let users: Awaited<ReturnType<typeof startInProcess>>;
let admin: string;

beforeAll(async () => {
  stack = await startStack('revocation');
  users = await startInProcess('revocation', loadUsersConfig, createUsersService, {
    names: stack.names,
  });
  admin = await testTokens.admin();
  // The activity-service answers reads once it has built its projections: wait for that, not for a 503.
  await eventually(
    async () => ((await fetch(`${stack.activityUrl}/readyz`)).ok ? true : undefined),
    60_000,
    100,
  );
}, 90_000);
afterAll(async () => {
  await users?.stop();
  await stack?.stop();
});

async function createUser(username: string, roles: string[] = []): Promise<number> {
  const res = await call('POST', `${users.api}/users`, {
    token: admin,
    body: { username, email: `${username}@example.com`, firstName: 'F', lastName: 'L' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const { id } = UserProfile.parse(res.body);
  if (roles.length > 0)
    expect(
      (await call('PATCH', `${users.api}/users/${id}`, { token: admin, body: { roles } })).status,
    ).toBe(200);
  return id;
}

/** What each service answers this token now: the directory, an activity read, a stream handshake. */
async function answers(bearer: string, userId: number) {
  const [directory, count, stream] = await Promise.all([
    call('GET', `${users.api}/users/${userId}`, { token: bearer }),
    call('GET', `${stack.activityUrl}/api/v1/users/${userId}/activity-count`, { token: bearer }),
    refusedWith(
      openStream(stack.url(userId), { headers: { authorization: `Bearer ${bearer}` } }).then((s) =>
        s.ws.close(),
      ),
    ),
  ]);
  return {
    directory: directory.status,
    count: count.status,
    stream,
    codes: [directory, count].map((r) =>
      r.status === 200 ? 'ok' : ErrorBody.parse(r.body).error.code,
    ),
  };
}

/** Polls `answers` until every service refuses, and how long that took after `since`. */
async function refusedWithin(bearer: string, userId: number, since: number): Promise<number> {
  for (;;) {
    const now = await answers(bearer, userId);
    if (now.directory === 401 && now.count === 401 && now.stream === 401) {
      expect(now.codes).toEqual(['token_revoked', 'token_revoked']);
      return performance.now() - since;
    }
    if (performance.now() - since > 5000)
      throw new Error(`still accepted after 5 s: ${JSON.stringify(now)}`);
  }
}

describe('revoked people', () => {
  it('when a user is deactivated, then every service refuses their token within a second and their open stream closes with 4003; reactivated, they are accepted again', async () => {
    const id = await createUser('revoke-deactivated');
    const bearer = await token(String(id));
    expect(await answers(bearer, id)).toMatchObject({ directory: 200, count: 200, stream: 101 });
    const open = await openStream(stack.url(id), {
      headers: { authorization: `Bearer ${bearer}` },
    });

    const since = performance.now();
    expect(
      (await call('PATCH', `${users.api}/users/${id}`, { token: admin, body: { isActive: false } }))
        .status,
    ).toBe(200);
    const closed = await open.closed;
    const closedAfter = performance.now() - since;
    expect(closed.code).toBe(StreamCloseCodes.tokenRevoked);
    expect(closedAfter).toBeLessThan(1000);
    expect(await refusedWithin(bearer, id, since)).toBeLessThan(1000);

    expect(
      (await call('PATCH', `${users.api}/users/${id}`, { token: admin, body: { isActive: true } }))
        .status,
    ).toBe(200);
    const back = performance.now();
    for (;;) {
      const now = await answers(bearer, id);
      if (now.directory === 200 && now.count === 200 && now.stream === 101) break;
      expect(performance.now() - back).toBeLessThan(1000);
    }
  });

  it('when an admin is deleted, then their admin token is refused everywhere within a second, and the streams they watched close', async () => {
    const watched = await createUser('revoke-watched');
    const adminId = await createUser('revoke-admin', ['admin']);
    const bearer = await token(String(adminId), { roles: ['admin'] });
    const open = await openStream(stack.url(watched), {
      headers: { authorization: `Bearer ${bearer}` },
    });

    const since = performance.now();
    expect((await call('DELETE', `${users.api}/users/${adminId}`, { token: admin })).status).toBe(
      204,
    );
    expect((await open.closed).code).toBe(StreamCloseCodes.tokenRevoked);
    expect(performance.now() - since).toBeLessThan(1000);
    expect(await refusedWithin(bearer, watched, since)).toBeLessThan(1000);
    // Other people's tokens are untouched.
    expect(await answers(await token(String(watched)), watched)).toMatchObject({
      directory: 200,
      count: 200,
      stream: 101,
    });
  });
});
