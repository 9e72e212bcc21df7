import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { UserList, UserProfile } from '@suite/contracts';
import { call, eventually, testRedis } from '@suite/testkit';
import { outboxSet } from '../src/data-access/outbox.js';
import { userUpdated } from '../src/domain/events.js';
import { startUsersService, tokens } from './helpers.js';

let service: Awaited<ReturnType<typeof startUsersService>>;
let admin: string;
let mongo: MongoClient;
let redis: ReturnType<typeof testRedis>;

beforeAll(async () => {
  service = await startUsersService('dirheal');
  admin = await tokens.admin();
  mongo = new MongoClient(service.infra.mongoUrl);
  redis = testRedis(service.infra.redisUrl);
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await mongo?.close();
  redis?.disconnect();
});

async function createUser(username: string) {
  const res = await call('POST', `${service.api}/users`, {
    token: admin,
    body: { username, email: `${username}@example.com`, firstName: 'Before', lastName: 'Heal' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return UserProfile.parse(res.body);
}

describe('the shared directory heals', () => {
  it('when a replica stored a change in MongoDB and died before the directory, then the directory takes it from its event', async () => {
    const user = await createUser('halfway-writer');
    const users = mongo.db(service.names.dbName).collection('users');
    // The relay's clean-up of the creation's entry is a locked read-change-write; FerretDB would lose
    // a write from outside the lock landing in the middle of it, so this one waits for it.
    await eventually(async () =>
      (await users.findOne({ _id: user.id } as never))?.outboxPending === false ? true : undefined,
    );
    // What a replica killed between its MongoDB write and its directory write leaves: the new version and its outbox entry.
    const now = new Date();
    const changed = { ...user, firstName: 'Healed', updatedAt: now.toISOString() };
    const { roles: _r, createdAt: _c, updatedAt: _u, ...listed } = changed;
    await users.updateOne({ _id: user.id } as never, {
      $set: {
        firstName: 'Healed',
        version: 2,
        updatedAt: now,
        ...outboxSet([userUpdated(listed, 2, now)]),
      },
    });
    expect(
      (await call('GET', `${service.api}/users/${user.id}`, { token: admin })).body,
    ).toMatchObject({ firstName: 'Before' });
    // The relay publishes it, the follower sees the directory lacks version 2 and reads the user again.
    await eventually(async () => {
      const got = await call('GET', `${service.api}/users/${user.id}`, { token: admin });
      const found = UserList.parse(
        (await call('GET', `${service.api}/users/search?q=healed`, { token: admin })).body,
      );
      return got.headers.get('etag') === '"2"' &&
        (got.body as UserProfile).firstName === 'Healed' &&
        found.results.some((u) => u.id === user.id)
        ? true
        : undefined;
    });
  });

  it('when Redis lost the directory, then it is built again from MongoDB and serves the same users', async () => {
    for (const n of [1, 2, 3]) await createUser(`rebuilt-${n}`);
    const before = UserList.parse(
      (await call('GET', `${service.api}/users?page_size=100`, { token: admin })).body,
    );
    // Everything of this service's directory goes, as in a Redis that restarted empty.
    const doomed = await redis.keys(`${service.names.keyPrefix}*dir*`);
    expect(doomed.length).toBeGreaterThan(3);
    for (const key of doomed) await redis.unlink(key);
    await eventually(async () => {
      const ready = await fetch(`${service.server.url}/readyz`);
      const list = await call('GET', `${service.api}/users?page_size=100`, { token: admin });
      return ready.status === 200 &&
        list.status === 200 &&
        (list.body as { count: number }).count === before.count
        ? true
        : undefined;
    });
    const after = UserList.parse(
      (await call('GET', `${service.api}/users?page_size=100`, { token: admin })).body,
    );
    expect(after.results).toEqual(before.results);
    expect(
      UserList.parse(
        (await call('GET', `${service.api}/users/search?q=rebuilt`, { token: admin })).body,
      ).count,
    ).toBe(3);
  });
});
