import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody, UserList } from '@suite/contracts';
import { call, testTokens } from '@suite/testkit';
import { activityEvent, startActivityService } from '../services/activity-service/test/helpers.js';
import { startUsersService } from '../services/users-service/test/helpers.js';
import { createEdge } from './edge.js';

let users: Awaited<ReturnType<typeof startUsersService>>;
let activity: Awaited<ReturnType<typeof startActivityService>>;
let edge: Server;
let origin: string;
let admin: string;

beforeAll(async () => {
  [users, activity] = await Promise.all([
    startUsersService('forwarded'),
    startActivityService('forwarded'),
  ]);
  const port = (url: string) => Number(new URL(url).port);
  edge = createEdge(
    {
      users: port(users.server.url),
      activity: port(activity.server.url),
      gateway: port(users.server.url),
    },
    () => undefined,
  );
  await new Promise<void>((ok) => edge.listen(0, '127.0.0.1', ok));
  origin = `http://127.0.0.1:${(edge.address() as AddressInfo).port}`;
  admin = await testTokens.admin();
  for (const name of ['fwd-a', 'fwd-b']) {
    expect(
      (
        await call('POST', `${users.api}/users`, {
          token: admin,
          body: { username: name, email: `${name}@example.com`, firstName: 'F', lastName: 'L' },
        })
      ).status,
    ).toBe(201);
  }
  await activity.publisher.publish([activityEvent(5101), activityEvent(5101)]);
}, 60_000);
afterAll(async () => {
  await new Promise((ok) => edge?.close(ok));
  await Promise.all([users?.stop(), activity?.stop()]);
});

const forged: Record<string, string>[] = [
  { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'javascript' },
  {
    'x-forwarded-host': 'evil.example, other.example',
    'x-forwarded-proto': 'https',
    forwarded: 'host=evil.example;proto=https',
  },
  { 'x-forwarded-host': 'a b', 'x-forwarded-proto': 'java script' },
];

/** The `next` link of the users list and of a feed, through `base`, with `headers`. */
async function links(base: string, headers: Record<string, string>) {
  const list = await call('GET', `${base}/api/v1/users?page_size=1`, { token: admin, headers });
  const feed = await call('GET', `${base}/api/v1/users/5101/activities?limit=1`, {
    token: admin,
    headers,
  });
  return { list, feed };
}

describe('forwarding headers', () => {
  it('when a client forges X-Forwarded-Host, -Proto or Forwarded through the local edge, then no link changes', async () => {
    let feedNext: string | null = null;
    for (let i = 0; i < 50 && feedNext === null; i++)
      feedNext = ((await links(origin, {})).feed.body as { next: string | null }).next;
    expect(feedNext).toMatch(new RegExp(`^${origin}/api/v1/users/5101/activities\\?`));
    for (const headers of forged) {
      const { list, feed } = await links(origin, headers);
      expect(list.status, JSON.stringify(headers)).toBe(200);
      expect(UserList.parse(list.body).next).toBe(`${origin}/api/v1/users?page_size=1&page=2`);
      expect(
        (feed.body as { next: string }).next.startsWith(`${origin}/api/v1/users/5101/activities?`),
      ).toBe(true);
    }
  });

  it('when a trusted hop sends a malformed host, then the answer is 400 in the error shape, and a scheme other than https never reaches a link', async () => {
    // Straight to the services, whose TRUST_PROXY (loopback) believes this test as a proxy.
    for (const base of [users.server.url, activity.server.url]) {
      const path =
        base === users.server.url
          ? '/api/v1/users?page_size=1'
          : '/api/v1/users/5101/activities?limit=1';
      const bad = await call('GET', `${base}${path}`, {
        token: admin,
        headers: { 'x-forwarded-host': 'a b' },
      });
      expect(bad.status, base).toBe(400);
      expect(ErrorBody.parse(bad.body).error.code).toBe('bad_request');
      const proto = await call('GET', `${base}${path}`, {
        token: admin,
        headers: { 'x-forwarded-host': 'api.example', 'x-forwarded-proto': 'javascript' },
      });
      expect((proto.body as { next: string }).next, base).toMatch(/^http:\/\/api\.example\//);
    }
  });
});
