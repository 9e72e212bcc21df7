import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USERS_SERVICE_ORIGIN, originProblem } from '@suite/auth';
import { EffectiveWorkspace, UsersEvent, UserProfile } from '@suite/contracts';
import { call, collectTopic, eventually, TEST_ORIGIN_KEY } from '@suite/testkit';
import { startUsersService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startUsersService>>;
let admin: string;
let events: Awaited<ReturnType<typeof collectTopic>>;

const post = async (path: string, body: unknown) => {
  const res = await call('POST', `${ctx.api}${path}`, { token: admin, body });
  expect(res.status, `${path} ${JSON.stringify(res.body)}`).toBe(201);
  return res.body as { id: number };
};
const parsed = () =>
  events.records.map((r) => ({ key: r.key, event: UsersEvent.parse(JSON.parse(r.value)) }));
const accessOf = (userId: number) =>
  parsed()
    .filter(
      (e) =>
        e.event.type === 'io.activitysuite.user.access-changed' &&
        e.event.data &&
        'workspaces' in e.event.data &&
        e.event.data.userId === userId,
    )
    .map(
      (e) =>
        e.event.data as {
          version: number;
          workspaces: { workspaceId: number; name: string; role: string }[];
        },
    )
    .sort((a, b) => a.version - b.version);

beforeAll(async () => {
  ctx = await startUsersService('access');
  admin = await tokens.admin();
  events = await collectTopic(ctx.infra.kafkaBrokers, ctx.usersTopic);
});
afterAll(async () => {
  await events.stop();
  await ctx.service.stop();
});

describe('effective workspaces', () => {
  it('when a user has direct and group grants, then they merge, the highest role wins, and each says how it was granted', async () => {
    const user = UserProfile.parse(
      await post('/users', {
        username: 'wanda',
        email: 'wanda@example.com',
        firstName: 'W',
        lastName: 'M',
      }),
    );
    const ws1 = await post('/workspaces', { name: 'Design' });
    const ws2 = await post('/workspaces', { name: 'Docs' });
    const group = await post('/groups', { name: 'editors' });
    await post(`/groups/${group.id}/members`, { userId: user.id });
    const direct = await post(`/workspaces/${ws1.id}/permissions`, {
      userId: user.id,
      role: 'viewer',
    });
    const viaGroup = await post(`/workspaces/${ws1.id}/permissions`, {
      groupId: group.id,
      role: 'admin',
    });
    await post(`/workspaces/${ws2.id}/permissions`, { groupId: group.id, role: 'member' });

    const res = await call('GET', `${ctx.api}/users/${user.id}/workspaces`, {
      token: await tokens.user(user.id),
    });
    expect(res.status).toBe(200);
    const list = (res.body as { results: unknown[] }).results.map((w) =>
      EffectiveWorkspace.parse(w),
    );
    expect(list.map((w) => [w.workspace.name, w.role])).toEqual([
      ['Design', 'admin'],
      ['Docs', 'member'],
    ]);
    expect(list[0]!.grantedVia).toEqual(
      expect.arrayContaining([
        { kind: 'direct', permissionId: direct.id },
        { kind: 'group', permissionId: viaGroup.id, groupId: group.id, groupName: 'editors' },
      ]),
    );

    // The replica event carries the full new set, with names and roles.
    await eventually(async () => {
      const latest = accessOf(user.id).at(-1);
      return latest &&
        latest.workspaces.length === 2 &&
        latest.workspaces.some((w) => w.role === 'admin')
        ? true
        : undefined;
    }, 20_000);
    expect(accessOf(user.id).at(-1)!.workspaces).toEqual(
      expect.arrayContaining([
        { workspaceId: ws1.id, name: 'Design', role: 'admin' },
        { workspaceId: ws2.id, name: 'Docs', role: 'member' },
      ]),
    );

    // Leaving the group drops the group grants; the event follows.
    expect(
      (await call('DELETE', `${ctx.api}/groups/${group.id}/members/${user.id}`, { token: admin }))
        .status,
    ).toBe(204);
    const after = (await call('GET', `${ctx.api}/users/${user.id}/workspaces`, { token: admin }))
      .body as { results: EffectiveWorkspace[] };
    expect(after.results.map((w) => [w.workspace.name, w.role])).toEqual([['Design', 'viewer']]);
    await eventually(
      async () => (accessOf(user.id).at(-1)?.workspaces.length === 1 ? true : undefined),
      20_000,
    );
  });

  it('when a workspace is renamed or deleted, then users.events says so', async () => {
    const ws = await post('/workspaces', { name: 'Old name' });
    expect(
      (
        await call('PATCH', `${ctx.api}/workspaces/${ws.id}`, {
          token: admin,
          body: { name: 'New name' },
        })
      ).status,
    ).toBe(200);
    expect((await call('DELETE', `${ctx.api}/workspaces/${ws.id}`, { token: admin })).status).toBe(
      204,
    );
    expect((await call('GET', `${ctx.api}/workspaces/${ws.id}`, { token: admin })).status).toBe(
      404,
    );
    await eventually(async () => {
      const types = parsed()
        .filter((e) => e.event.subject === String(ws.id))
        .map((e) => e.event.type);
      return types.includes('io.activitysuite.workspace.renamed') &&
        types.includes('io.activitysuite.workspace.deleted')
        ? true
        : undefined;
    }, 20_000);
    // Every record carries the users-service's mark of origin, which the activity-service checks.
    expect(events.records.length).toBeGreaterThan(0);
    for (const record of events.records)
      expect(
        originProblem(
          USERS_SERVICE_ORIGIN,
          [TEST_ORIGIN_KEY],
          Buffer.from(record.value),
          record.headers,
        ),
      ).toBeUndefined();
    expect(
      originProblem(
        USERS_SERVICE_ORIGIN,
        ['another-key-0123456789abcdef0123456789'],
        Buffer.from(events.records[0]!.value),
        events.records[0]!.headers,
      ),
    ).toMatch(/not configured/);
  });

  it('when a permission names a missing workspace, then the answer is 404, and a missing user or group in the body is 409 naming the field', async () => {
    const ws = await post('/workspaces', { name: 'Lonely' });
    expect(
      (
        await call('POST', `${ctx.api}/workspaces/${ws.id}/permissions`, {
          token: admin,
          body: { userId: 987654, role: 'viewer' },
        })
      ).body,
    ).toMatchObject({ error: { code: 'conflict', details: [{ path: 'body.userId' }] } });
    expect(
      (
        await call('POST', `${ctx.api}/workspaces/987654/permissions`, {
          token: admin,
          body: { groupId: 1, role: 'viewer' },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await call('POST', `${ctx.api}/workspaces/${ws.id}/permissions`, {
          token: admin,
          body: { userId: 1, groupId: 1, role: 'viewer' },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call('POST', `${ctx.api}/workspaces/${ws.id}/permissions`, {
          token: admin,
          body: { userId: 1, role: 'owner' },
        })
      ).status,
    ).toBe(400);
  });
});

describe('user lifecycle events', () => {
  it('when a user is created, updated and deleted, then each is published keyed by user id, each id once', async () => {
    const user = UserProfile.parse(
      await post('/users', {
        username: 'victor',
        email: 'victor@example.com',
        firstName: 'V',
        lastName: 'H',
      }),
    );
    await call('PATCH', `${ctx.api}/users/${user.id}`, {
      token: admin,
      body: { lastName: 'Hugo' },
    });
    await call('DELETE', `${ctx.api}/users/${user.id}`, { token: admin });
    const mine = () =>
      parsed().filter((e) => e.key === String(user.id) && !e.event.type.endsWith('access-changed'));
    await eventually(async () => (mine().length >= 3 ? true : undefined), 20_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}; got ${JSON.stringify(mine().map((e) => e.event.type))}`);
      },
    );
    expect(mine().map((e) => e.event.type)).toEqual([
      'io.activitysuite.user.created',
      'io.activitysuite.user.updated',
      'io.activitysuite.user.deleted',
    ]);
    const ids = parsed().map((e) => e.event.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
