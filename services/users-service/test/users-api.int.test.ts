import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody, UserCursorPage, UserList, UserProfile } from '@suite/contracts';
import { call } from '@suite/testkit';
import { startUsersService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startUsersService>>;
let admin: string;

async function createUser(username: string, extra: Record<string, unknown> = {}) {
  const res = await call('POST', `${ctx.api}/users`, {
    token: admin,
    body: {
      username,
      email: `${username.toLowerCase()}@example.com`,
      firstName: 'First',
      lastName: 'Last',
      ...extra,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return UserProfile.parse(res.body);
}

beforeAll(async () => {
  ctx = await startUsersService('users-api');
  admin = await tokens.admin();
});
afterAll(() => ctx.service.stop());

describe('creating users', () => {
  it('when an admin creates a user, then the answer is 201 with the full profile and an integer id', async () => {
    const user = await createUser('alice', { firstName: 'Alice', lastName: 'Liddell' });
    expect(user).toMatchObject({
      username: 'alice',
      email: 'alice@example.com',
      isActive: true,
      roles: [],
    });
    expect(Number.isInteger(user.id)).toBe(true);
    expect(Date.parse(user.createdAt)).not.toBeNaN();
  });

  it('when an admin creates a user, then Location names the new user, and reading it gives the profile', async () => {
    const res = await call('POST', `${ctx.api}/users`, {
      token: admin,
      body: { username: 'located', email: 'located@example.com', firstName: 'L', lastName: 'L' },
    });
    expect(res.status).toBe(201);
    const { id } = res.body as { id: number };
    expect(res.headers.get('location')).toBe(`/api/v1/users/${id}`);
    expect(
      (
        await call('GET', `${ctx.api.replace(/\/api\/v1$/, '')}${res.headers.get('location')}`, {
          token: admin,
        })
      ).body,
    ).toMatchObject({ id, username: 'located' });
  });

  it('when the username or email is taken (in any case), then the answer is 409', async () => {
    await createUser('bob');
    const dupName = await call('POST', `${ctx.api}/users`, {
      token: admin,
      body: { username: 'BOB', email: 'other@example.com', firstName: 'B', lastName: 'B' },
    });
    expect(dupName.status).toBe(409);
    expect(ErrorBody.parse(dupName.body).error.code).toBe('conflict');
    const dupEmail = await call('POST', `${ctx.api}/users`, {
      token: admin,
      body: { username: 'bobby', email: 'BOB@example.com', firstName: 'B', lastName: 'B' },
    });
    expect(dupEmail.status).toBe(409);
  });

  it('when the body has unknown fields, then read-only fields or wrong types, the answer is 400 with field details', async () => {
    const res = await call('POST', `${ctx.api}/users`, {
      token: admin,
      body: {
        username: 'carol',
        email: 'not-an-email',
        firstName: 7,
        lastName: 'C',
        id: 5,
        createdAt: 'x',
        isAdmin: true,
      },
    });
    expect(res.status).toBe(400);
    const body = ErrorBody.parse(res.body);
    const paths = body.error.details!.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['body.email', 'body.firstName', 'body']));
  });

  it('when the body is not JSON or too large, then the answers are 400 and 413', async () => {
    const bad = await call('POST', `${ctx.api}/users`, { token: admin, body: '{"username":' });
    expect(bad.status).toBe(400);
    const big = await call('POST', `${ctx.api}/users`, {
      token: admin,
      body: { username: 'x'.repeat(200_000) },
    });
    expect(big.status).toBe(413);
    expect(ErrorBody.parse(big.body).error.code).toBe('payload_too_large');
  });
});

describe('listing users', () => {
  it('when users are paged, then it is like DRF: count, absolute next/previous, 404 past the end', async () => {
    for (let i = 0; i < 23; i++) await createUser(`pager${String(i).padStart(2, '0')}`);
    const user = await tokens.user(1);
    const first = await call('GET', `${ctx.api}/users?page_size=10`, { token: user });
    expect(first.status).toBe(200);
    const page1 = UserList.parse(first.body);
    expect(page1.count).toBeGreaterThanOrEqual(25);
    expect(page1.results).toHaveLength(10);
    expect(page1.previous).toBeNull();
    expect(page1.next).toBe(`${ctx.server.url}/api/v1/users?page_size=10&page=2`);
    const second = UserList.parse((await call('GET', page1.next!, { token: user })).body);
    expect(second.previous).toBe(`${ctx.server.url}/api/v1/users?page_size=10`);
    expect(second.results[0]!.id).toBeGreaterThan(page1.results[9]!.id);
    const pages = Math.ceil(page1.count / 10);
    const last = UserList.parse(
      (await call('GET', `${ctx.api}/users?page_size=10&page=${pages}`, { token: user })).body,
    );
    expect(last.next).toBeNull();
    const past = await call('GET', `${ctx.api}/users?page_size=10&page=${pages + 1}`, {
      token: user,
    });
    expect(past.status).toBe(404);
  });

  it("when users are walked with keyset cursors, then they are the pages' users, forward and back, without a count (DRF CursorPagination)", async () => {
    const user = await tokens.user(1);
    const everyone = UserList.parse(
      (await call('GET', `${ctx.api}/users?page_size=100`, { token: user })).body,
    ).results.map((u) => u.id);
    expect(everyone.length).toBeGreaterThan(7);
    // Forward from `cursor=` (the start) until next is null.
    const walked: number[] = [];
    const pages: UserCursorPage[] = [];
    for (let url: string | null = `${ctx.api}/users?page_size=3&cursor=`; url;) {
      const res = await call('GET', url, { token: user });
      expect(res.status, url).toBe(200);
      const page = UserCursorPage.strict().parse(res.body);
      pages.push(page);
      walked.push(...page.results.map((u) => u.id));
      url = page.next;
    }
    expect(walked).toEqual(everyone);
    expect(pages[0]!.previous).toBeNull();
    // Back from the last page by `previous`, page by page.
    const back: number[] = [];
    for (let url: string | null = pages.at(-1)!.previous; url;) {
      const page = UserCursorPage.parse((await call('GET', url, { token: user })).body);
      back.unshift(...page.results.map((u) => u.id));
      url = page.previous;
    }
    expect([...back, ...pages.at(-1)!.results.map((u) => u.id)]).toEqual(everyone);
    // With a cursor, a page number changes nothing.
    expect(
      UserCursorPage.parse(
        (await call('GET', `${ctx.api}/users?page_size=3&cursor=&page=2`, { token: user })).body,
      ).results,
    ).toEqual(pages[0]!.results);
    // A cursor this API did not issue, or a repeated one, is 400 naming the parameter.
    for (const q of ['cursor=x1', 'cursor=a0', 'cursor=a1&cursor=a2', 'cursor=a%00']) {
      const res = await call('GET', `${ctx.api}/users?${q}`, { token: user });
      expect(res.status, q).toBe(400);
      expect(ErrorBody.parse(res.body).error.details?.[0]?.path, q).toMatch(/^query/);
    }
  });

  it('when behind a proxy, then next/previous use the forwarded host and protocol', async () => {
    const res = await call('GET', `${ctx.api}/users?page_size=5`, {
      token: await tokens.user(1),
      headers: { 'x-forwarded-host': 'api.example.com', 'x-forwarded-proto': 'https' },
    });
    expect(UserList.parse(res.body).next).toBe(
      'https://api.example.com/api/v1/users?page_size=5&page=2',
    );
  });

  it('when query parameters are unknown, then repeated or out of range, the answer is 400', async () => {
    const user = await tokens.user(1);
    for (const q of [
      'page=0',
      'page_size=101',
      'page=abc',
      'page=1&page=2',
      'sort=name',
      'page[$gt]=1',
    ]) {
      const res = await call('GET', `${ctx.api}/users?${q}`, { token: user });
      expect(res.status, q).toBe(400);
    }
  });
});

describe('reading and changing one user', () => {
  it('when the id is missing, then the answer is 404; when it is not an integer, 400', async () => {
    const token = await tokens.user(1);
    expect((await call('GET', `${ctx.api}/users/99999999`, { token })).status).toBe(404);
    for (const id of ['abc', '$gt', '1.5', '-1', '0'])
      expect(
        (await call('GET', `${ctx.api}/users/${encodeURIComponent(id)}`, { token })).status,
        id,
      ).toBe(400);
  });

  it('when PUT lacks a writable field, then it is refused, and PATCH changes only what is sent', async () => {
    const user = await createUser('dave');
    const self = await tokens.user(user.id);
    const missing = await call('PUT', `${ctx.api}/users/${user.id}`, {
      token: self,
      body: { username: 'dave', email: 'dave@example.com', firstName: 'Dave' },
    });
    expect(missing.status).toBe(400);
    expect(ErrorBody.parse(missing.body).error.details!.map((d) => d.path)).toContain(
      'body.lastName',
    );
    const put = await call('PUT', `${ctx.api}/users/${user.id}`, {
      token: self,
      body: { username: 'dave', email: 'dave2@example.com', firstName: 'David', lastName: 'Jones' },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      email: 'dave2@example.com',
      firstName: 'David',
      lastName: 'Jones',
    });
    const patch = await call('PATCH', `${ctx.api}/users/${user.id}`, {
      token: self,
      body: { firstName: 'Davy' },
    });
    expect(patch.body).toMatchObject({
      firstName: 'Davy',
      lastName: 'Jones',
      email: 'dave2@example.com',
    });
    const adminPut = await call('PUT', `${ctx.api}/users/${user.id}`, {
      token: admin,
      body: { username: 'dave', email: 'dave2@example.com', firstName: 'D', lastName: 'J' },
    });
    expect(adminPut.status).toBe(400);
  });

  it('when a body tries mass assignment (isActive, roles, id, createdAt, $set, __proto__), then the stored document is unchanged', async () => {
    const user = await createUser('erin');
    const self = await tokens.user(user.id);
    const attempts: unknown[] = [
      { isActive: false },
      { roles: ['admin'] },
      { id: 1 },
      { createdAt: '2000-01-01T00:00:00Z' },
      { $set: { roles: ['admin'] } },
      JSON.parse('{"__proto__": {"roles": ["admin"]}, "firstName": "Evil"}'),
      { firstName: { $gt: '' } },
    ];
    for (const body of attempts) {
      const res = await call('PATCH', `${ctx.api}/users/${user.id}`, {
        token: self,
        body: JSON.stringify(body),
      });
      expect([400, 403], JSON.stringify(body)).toContain(res.status);
    }
    const stored = UserProfile.parse(
      (await call('GET', `${ctx.api}/users/${user.id}`, { token: self })).body,
    );
    expect(stored).toEqual(user);
  });

  it('when a user changes someone else, then the answer is 403 without data', async () => {
    const a = await createUser('frank');
    const b = await createUser('grace');
    const res = await call('PATCH', `${ctx.api}/users/${b.id}`, {
      token: await tokens.user(a.id),
      body: { firstName: 'X' },
    });
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.body)).not.toContain('grace');
  });

  it('when an admin deletes a user, then the answer is 204 and the user is gone', async () => {
    const user = await createUser('heidi');
    expect((await call('DELETE', `${ctx.api}/users/${user.id}`, { token: admin })).status).toBe(
      204,
    );
    expect((await call('GET', `${ctx.api}/users/${user.id}`, { token: admin })).status).toBe(404);
    expect((await call('DELETE', `${ctx.api}/users/${user.id}`, { token: admin })).status).toBe(
      404,
    );
  });
});

describe('searching users', () => {
  beforeAll(async () => {
    await createUser('ann');
    await createUser('annabel');
    await createUser('joanna');
    await createUser('zed', { firstName: 'Ann' });
    await createUser('dotty', { lastName: 'a.*b' });
  });

  it('when users are searched, then exact matches rank first, then prefix, then substring, across all four fields', async () => {
    const res = await call('GET', `${ctx.api}/users/search?q=ANN`, { token: await tokens.user(1) });
    expect(res.status).toBe(200);
    const names = UserList.parse(res.body).results.map((u) => u.username);
    expect(names.slice(0, 2).sort()).toEqual(['ann', 'zed']);
    expect(names.indexOf('annabel')).toBeGreaterThan(1);
    expect(names.indexOf('joanna')).toBeGreaterThan(names.indexOf('annabel'));
  });

  it('when a search holds regex metacharacters or a catastrophic pattern, then it is plain text and answers', async () => {
    const token = await tokens.user(1);
    const meta = UserList.parse(
      (await call('GET', `${ctx.api}/users/search?q=${encodeURIComponent('a.*b')}`, { token }))
        .body,
    );
    expect(meta.results.map((u) => u.username)).toEqual(['dotty']);
    const started = Date.now();
    const evil = await call('GET', `${ctx.api}/users/search?q=${encodeURIComponent('(a+)+$')}`, {
      token,
    });
    expect(evil.status).toBe(200);
    expect(UserList.parse(evil.body).count).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('when q is missing, then empty or 10 KB long, the answer is 400', async () => {
    const token = await tokens.user(1);
    for (const q of ['', 'q=', `q=${'a'.repeat(10_240)}`]) {
      const res = await call('GET', `${ctx.api}/users/search?${q}`, { token });
      expect(res.status).toBe(400);
    }
  });
});
