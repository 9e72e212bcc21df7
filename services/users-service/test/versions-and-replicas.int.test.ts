import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody, UserList, UserProfile } from '@suite/contracts';
import { call, eventually } from '@suite/testkit';
import { startUsersService, tokens } from './helpers.js';

let first: Awaited<ReturnType<typeof startUsersService>>;
let second: Awaited<ReturnType<typeof startUsersService>>;
let admin: string;

async function createUser(api: string, username: string) {
  const res = await call('POST', `${api}/users`, {
    token: admin,
    body: { username, email: `${username}@example.com`, firstName: 'First', lastName: 'Last' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { user: UserProfile.parse(res.body), etag: res.headers.get('etag')! };
}

beforeAll(async () => {
  // Room in the write budget for the contention runs.
  const budget = { RATE_LIMIT_WRITE_PER_MIN: '1000' };
  first = await startUsersService('versions', budget);
  // A second replica on the same database, topics and Redis: its own process state (document locks included), as another pod has.
  second = await startUsersService('versions', {
    ...budget,
    MONGO_DB: first.names.dbName,
    REDIS_KEY_PREFIX: first.names.keyPrefix,
    KAFKA_TOPIC_PREFIX: first.names.topicPrefix,
  });
  admin = await tokens.admin();
}, 60_000);
afterAll(async () => {
  await Promise.all([first?.stop(), second?.stop()]);
});

describe('versions: ETag and If-Match', () => {
  it('when a profile is answered, then it carries its version, and If-None-Match answers 304 until it changes', async () => {
    const { user, etag } = await createUser(first.api, 'etag1');
    expect(etag).toBe('"1"');
    const got = await call('GET', `${first.api}/users/${user.id}`, { token: admin });
    expect(got.headers.get('etag')).toBe('"1"');
    expect(
      (
        await call('GET', `${first.api}/users/${user.id}`, {
          token: admin,
          headers: { 'if-none-match': '"1"' },
        })
      ).status,
    ).toBe(304);
    const patched = await call('PATCH', `${first.api}/users/${user.id}`, {
      token: admin,
      body: { firstName: 'Changed' },
    });
    expect(patched.headers.get('etag')).toBe('"2"');
    expect(
      (
        await call('GET', `${first.api}/users/${user.id}`, {
          token: admin,
          headers: { 'if-none-match': '"1"' },
        })
      ).status,
    ).toBe(200);
  });

  it('when If-Match names the current version, then the change applies; a stale, weak or unknown one is 412 and changes nothing', async () => {
    const { user } = await createUser(first.api, 'etag2');
    const ok = await call('PATCH', `${first.api}/users/${user.id}`, {
      token: admin,
      body: { lastName: 'One' },
      headers: { 'if-match': '"7", "1"' },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');
    for (const stale of ['"1"', 'W/"2"', '"99"']) {
      const refused = await call('PUT', `${first.api}/users/${user.id}`, {
        token: admin,
        body: {
          username: 'etag2',
          email: 'etag2@example.com',
          firstName: 'X',
          lastName: 'Y',
          isActive: true,
          roles: [],
        },
        headers: { 'if-match': stale },
      });
      expect(refused.status, stale).toBe(412);
      expect(ErrorBody.parse(refused.body).error.code).toBe('precondition_failed');
    }
    expect(
      (
        await call('DELETE', `${first.api}/users/${user.id}`, {
          token: admin,
          headers: { 'if-match': '"1"' },
        })
      ).status,
    ).toBe(412);
    const now = await call('GET', `${first.api}/users/${user.id}`, { token: admin });
    expect(now.body).toMatchObject({ lastName: 'One', firstName: 'First' });
    expect(
      (
        await call('PATCH', `${first.api}/users/${user.id}`, {
          token: admin,
          body: { lastName: 'Two' },
          headers: { 'if-match': '*' },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await call('DELETE', `${first.api}/users/${user.id}`, {
          token: admin,
          headers: { 'if-match': '"3"' },
        })
      ).status,
    ).toBe(204);
  });

  it('when If-Match is malformed, then the answer is 400 naming the header', async () => {
    const { user } = await createUser(first.api, 'etag3');
    for (const bad of ['1', '"1', 'W/1', '"a b"', '*, "1"']) {
      const res = await call('PATCH', `${first.api}/users/${user.id}`, {
        token: admin,
        body: { lastName: 'Z' },
        headers: { 'if-match': bad },
      });
      expect(res.status, bad).toBe(400);
      expect(ErrorBody.parse(res.body).error.details?.[0]?.path).toBe('header.If-Match');
    }
  });
});

/** Patches one user 100 times at once, firstName and lastName interleaved, spread over `apis`: the answers and each one's time. */
async function contend(apis: string[], userId: number) {
  const changes = Array.from({ length: 100 }, (_, i) =>
    i % 2 === 0 ? { firstName: `F${i}` } : { lastName: `L${i}` },
  );
  return Promise.all(
    changes.map(async (body, i) => {
      const started = performance.now();
      const res = await call('PATCH', `${apis[i % apis.length]}/users/${userId}`, {
        token: admin,
        body,
      });
      return { res, body, ms: performance.now() - started };
    }),
  );
}

/** The assertions every contention run makes: all 200, versions 2–101 each once, the last value of every field kept. */
async function expectAllKept(
  results: Awaited<ReturnType<typeof contend>>,
  userId: number,
  label: string,
) {
  expect(results.map((r) => r.res.status)).toEqual(Array(100).fill(200));
  const versions = results.map((r) => Number(r.res.headers.get('etag')!.slice(1, -1)));
  expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 2));
  // The last write of each field is the one with the highest version.
  const last = (field: 'firstName' | 'lastName') =>
    results
      .filter((r) => field in r.body)
      .sort(
        (a, b) =>
          Number(b.res.headers.get('etag')!.slice(1, -1)) -
          Number(a.res.headers.get('etag')!.slice(1, -1)),
      )[0]!.body;
  // Each replica reads its directory, which hears of the other replica's writes on users.events: wait for the last version.
  const final = await eventually(async () => {
    const res = await call('GET', `${first.api}/users/${userId}`, { token: admin });
    return res.headers.get('etag') === '"101"' ? (res.body as UserProfile) : undefined;
  });
  expect(final).toMatchObject({ ...last('firstName'), ...last('lastName') });
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  console.info(
    `${label}: 100 concurrent PATCHes, p50 ${ms[49]!.toFixed(0)} ms, p99 ${ms[98]!.toFixed(0)} ms, max ${ms[99]!.toFixed(0)} ms`,
  );
}

describe('no lost updates, and contention is not an outage', () => {
  it('when 100 PATCHes of different fields of one user arrive at once on one replica, then all answer 200 and the last value of every field is kept', async () => {
    const { user } = await createUser(first.api, 'race1');
    await expectAllKept(await contend([first.api], user.id), user.id, 'one replica');
  });

  it('when 100 PATCHes of different fields of one user arrive at once spread over two replicas, then all answer 200 and the last value of every field is kept', async () => {
    const { user } = await createUser(first.api, 'race2');
    await expectAllKept(await contend([first.api, second.api], user.id), user.id, 'two replicas');
  });

  it('when PATCHes carrying the same If-Match race, then exactly one applies and the others answer 412', async () => {
    const { user } = await createUser(first.api, 'race3');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call('PATCH', `${[first.api, second.api][i % 2]}/users/${user.id}`, {
          token: admin,
          body: { firstName: `M${i}` },
          headers: { 'if-match': '"1"' },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(19).fill(412)]);
  });
});

describe('the directory of each replica', () => {
  it('when another replica creates a user, then it is found by id at once, and in lists and searches within moments', async () => {
    const { user } = await createUser(first.api, 'zelda-replica');
    expect(
      (await call('GET', `${second.api}/users/${user.id}`, { token: admin })).body,
    ).toMatchObject({ username: 'zelda-replica' });
    await eventually(async () => {
      const found = UserList.parse(
        (await call('GET', `${second.api}/users/search?q=elda-rep`, { token: admin })).body,
      );
      return found.results.some((u) => u.id === user.id) ? true : undefined;
    });
  });

  it('when another replica updates or deletes users, then list, search and get follow', async () => {
    const { user } = await createUser(first.api, 'yara-replica');
    await eventually(
      async () =>
        (
          (await call('GET', `${second.api}/users/search?q=yara-replica`, { token: admin }))
            .body as { count: number }
        ).count === 1 || undefined,
    );
    expect(
      (
        await call('PATCH', `${first.api}/users/${user.id}`, {
          token: admin,
          body: { firstName: 'Quintessa' },
        })
      ).status,
    ).toBe(200);
    await eventually(async () => {
      const got = await call('GET', `${second.api}/users/${user.id}`, { token: admin });
      const found = (await call('GET', `${second.api}/users/search?q=quintessa`, { token: admin }))
        .body as { count: number };
      return got.headers.get('etag') === '"2"' && found.count === 1 ? true : undefined;
    });
    const before = (
      (await call('GET', `${second.api}/users`, { token: admin })).body as { count: number }
    ).count;
    expect((await call('DELETE', `${first.api}/users/${user.id}`, { token: admin })).status).toBe(
      204,
    );
    await eventually(async () => {
      const got = await call('GET', `${second.api}/users/${user.id}`, { token: admin });
      const list = (await call('GET', `${second.api}/users`, { token: admin })).body as {
        count: number;
      };
      const found = (await call('GET', `${second.api}/users/search?q=quintessa`, { token: admin }))
        .body as { count: number };
      return got.status === 404 && list.count === before - 1 && found.count === 0
        ? true
        : undefined;
    });
  });
});
