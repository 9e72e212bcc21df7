import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Activity,
  ActivityCount,
  ActivityIngestAccepted,
  ActivityPage,
  ActiveWorkspace,
  ErrorBody,
  ProjectionKeys,
  SEEN_TRIM_EVERY,
  decodeLiveMessage,
} from '@suite/contracts';
import { call, eventually, signedUsersRecord } from '@suite/testkit';
import {
  T0,
  activityEvent,
  at,
  seenId,
  seenMarks,
  startActivityService,
  tokens,
  usersEvent,
} from './helpers.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
let kafka: Kafka;
let raw: Redis;

const get = async (path: string, token?: string) =>
  call('GET', `${ctx.api}${path}`, { token: token ?? (await tokens.admin()) });
const count = async (userId: number) =>
  ActivityCount.parse((await get(`/users/${userId}/activity-count`)).body).count;
const feed = async (userId: number, query = '') =>
  ActivityPage.parse((await get(`/users/${userId}/activities?limit=100${query}`)).body).results;
const countBecomes = (userId: number, n: number) =>
  eventually(async () => ((await count(userId)) === n ? true : undefined), 20_000);
async function sendUsersEvents(events: object[]) {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: ctx.usersTopic,
    acks: -1,
    messages: events.map((e) => signedUsersRecord(e as { subject: string })),
  });
  await producer.disconnect();
}

beforeAll(async () => {
  ctx = await startActivityService('projection', { FEED_MAX_ITEMS: '5' });
  kafka = new Kafka({
    clientId: 'projection-test',
    brokers: ctx.infra.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  raw = new Redis(ctx.infra.redisUrl);
});
afterAll(async () => {
  raw.disconnect();
  await ctx.stop();
});

describe('projections', () => {
  it('when the same event id is published twice, then it is counted once', async () => {
    const event = activityEvent(101);
    await ctx.publisher.publish(event);
    await ctx.publisher.publish(event);
    await ctx.publisher.publish(activityEvent(101));
    await countBecomes(101, 2);
    await ctx.settled();
    expect(await count(101)).toBe(2);
    expect((await feed(101)).map((a) => a.id)).toContain(event.id);
  });

  it('when events arrive out of time order, then the feed is in time order, newest first', async () => {
    const times = [3, 1, 4, 2].map((s) => at(3_600_000 + s * 1000));
    for (const time of times) await ctx.publisher.publish(activityEvent(102, { time }));
    await countBecomes(102, 4);
    expect((await feed(102)).map((a) => a.time)).toEqual([...times].sort().reverse());
  });

  it('when more events arrive than the feed keeps, then the feed is capped and the count stays exact', async () => {
    await ctx.publisher.publish(
      Array.from({ length: 8 }, (_, i) => activityEvent(103, { time: at(7_200_000 + i * 1000) })),
    );
    await countBecomes(103, 8);
    const items = await feed(103);
    expect(items).toHaveLength(5);
    expect(items[0]!.time).toBe(at(7_200_000 + 7000));
    // Positions 4 to 8 remain, all in the first feed block, and in the log.
    expect(await raw.zrange(ProjectionKeys.feedBlock(ctx.names.keyPrefix, 103, 0), 0, -1)).toEqual([
      '14',
      '15',
      '16',
      '17',
      '18',
    ]);
    expect(await raw.llen(ProjectionKeys.log(ctx.names.keyPrefix, 103))).toBe(5);
  });

  it('when the feed is paged, then the cursor is opaque and the workspace filter holds', async () => {
    await ctx.publisher.publish(
      [1, 2, 3, 4].map((i) =>
        activityEvent(104, { time: at(10_800_000 + i * 1000), workspaceId: i % 2 === 0 ? 20 : 21 }),
      ),
    );
    await countBecomes(104, 4);
    const first = ActivityPage.parse((await get('/users/104/activities?limit=3')).body);
    expect(first.results).toHaveLength(3);
    expect(first.next).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/users\/104\/activities\?limit=3&cursor=/,
    );
    const second = ActivityPage.parse(
      (await call('GET', first.next!, { token: await tokens.admin() })).body,
    );
    expect(second.results.map((a) => a.time)).toEqual([at(10_800_000 + 1000)]);
    expect(second.next).toBeNull();
    const filtered = await feed(104, '&workspaceId=20');
    expect(filtered.map((a) => a.workspaceId)).toEqual([20, 20]);
    const bad = await get('/users/104/activities?cursor=nonsense!');
    expect(bad.status).toBe(400);
    expect((await get('/users/104/activities?limit=101')).status).toBe(400);
    expect((await get('/users/104/activities?since=1')).status).toBe(400);
  });

  it('when active workspaces are asked for, then they are those active within the window and still accessible, named from the replica, most recent first', async () => {
    const now = Date.now();
    await sendUsersEvents([
      usersEvent('user.access-changed', 105, {
        userId: 105,
        version: 1,
        workspaces: [
          { workspaceId: 31, name: 'Alpha', role: 'member' },
          { workspaceId: 32, name: 'Beta', role: 'viewer' },
          { workspaceId: 33, name: 'Gamma', role: 'admin' },
        ],
      }),
    ]);
    await ctx.publisher.publish([
      activityEvent(105, { workspaceId: 31, time: new Date(now - 3_600_000).toISOString() }),
      activityEvent(105, { workspaceId: 31, time: new Date(now - 7_200_000).toISOString() }),
      activityEvent(105, { workspaceId: 32, time: new Date(now - 60_000).toISOString() }),
      activityEvent(105, { workspaceId: 33, time: new Date(now - 10 * 86_400_000).toISOString() }),
      activityEvent(105, { workspaceId: 34, time: new Date(now - 1000).toISOString() }),
    ]);
    await countBecomes(105, 5);
    const list = ((await get('/users/105/active-workspaces?days=7')).body as unknown[]).map((w) =>
      ActiveWorkspace.parse(w),
    );
    expect(list.map((w) => [w.workspace.name, w.role, w.activityCount])).toEqual([
      ['Beta', 'viewer', 1],
      ['Alpha', 'member', 2],
    ]);
    // Access to Beta is revoked and Alpha is renamed: the replica follows.
    await sendUsersEvents([
      usersEvent('user.access-changed', 105, {
        userId: 105,
        version: 2,
        workspaces: [{ workspaceId: 31, name: 'Alpha', role: 'member' }],
      }),
      usersEvent('workspace.renamed', 31, { workspaceId: 31, name: 'Alpha Prime' }),
      usersEvent('user.access-changed', 105, { userId: 105, version: 1, workspaces: [] }),
    ]);
    await eventually(async () => {
      const now2 = (await get('/users/105/active-workspaces')).body as ActiveWorkspace[];
      return now2.length === 1 && now2[0]!.workspace.name === 'Alpha Prime' ? true : undefined;
    }, 20_000);
    expect((await get('/users/105/active-workspaces?days=0')).status).toBe(400);
    expect((await get('/users/105/active-workspaces?days=366')).status).toBe(400);
  });

  it('when an old, validly signed rename or access change is produced again, then the projections keep the newest', async () => {
    const grant = usersEvent('user.access-changed', 111, {
      userId: 111,
      version: 1,
      workspaces: [{ workspaceId: 41, name: 'Delta', role: 'viewer' }],
    });
    const promote = usersEvent('user.access-changed', 111, {
      userId: 111,
      version: 2,
      workspaces: [{ workspaceId: 41, name: 'Delta', role: 'admin' }],
    });
    const rename1 = usersEvent('workspace.renamed', 41, {
      workspaceId: 41,
      name: 'Delta One',
      version: 1,
    });
    const rename2 = usersEvent('workspace.renamed', 41, {
      workspaceId: 41,
      name: 'Delta Two',
      version: 2,
    });
    await sendUsersEvents([grant, promote, rename1, rename2]);
    await ctx.publisher.publish([
      activityEvent(111, { workspaceId: 41, time: new Date(Date.now() - 60_000).toISOString() }),
    ]);
    const state = async () =>
      ((await get('/users/111/active-workspaces')).body as ActiveWorkspace[]).map((w) => [
        w.workspace.name,
        w.role,
      ]);
    await eventually(
      async () =>
        JSON.stringify(await state()) === JSON.stringify([['Delta Two', 'admin']])
          ? true
          : undefined,
      20_000,
    );
    // The same signed records again, as anyone who kept a copy could produce them.
    await sendUsersEvents([rename1, grant]);
    await ctx.settled();
    expect(await state()).toEqual([['Delta Two', 'admin']]);
  });

  it("when an activity is applied, then it is published on the user's channel after the commit, with its cursor", async () => {
    const sub = new Redis(ctx.infra.redisUrl);
    const received: unknown[] = [];
    await sub.subscribe(ProjectionKeys.liveChannel(ctx.names.keyPrefix, 106));
    sub.on('message', (_channel, message) => {
      const decoded = decodeLiveMessage(message);
      if (decoded.kind === 'batch')
        received.push(
          ...decoded.items.map((item) => ({
            position: item.position,
            activity: Activity.parse(JSON.parse(item.json)),
          })),
        );
    });
    const events = [
      activityEvent(106, { time: at(2000) }),
      activityEvent(106, { time: at(1000) }),
      activityEvent(106, { time: at(3000) }),
    ];
    await ctx.publisher.publish(events.slice(0, 2));
    await ctx.publisher.publish(events.slice(2));
    await eventually(async () => (received.length === 3 ? true : undefined), 20_000);
    // In application order, positions 1, 2, 3 whatever the event times.
    expect(received).toEqual(
      events.map((e, i) => ({
        position: i + 1,
        activity: expect.objectContaining({ id: e.id }) as unknown,
      })),
    );
    sub.disconnect();
  });

  it('when a user is deleted, then their projections are purged and later events change nothing', async () => {
    const sub = new Redis(ctx.infra.redisUrl);
    const received: unknown[] = [];
    await sub.subscribe(ProjectionKeys.liveChannel(ctx.names.keyPrefix, 107));
    sub.on('message', (_c, m) => {
      const decoded = decodeLiveMessage(m);
      if (decoded.kind === 'batch') received.push(...decoded.items.map(() => 'activity'));
      else received.push(decoded.kind);
    });
    await sendUsersEvents([
      usersEvent('user.access-changed', 107, {
        userId: 107,
        version: 1,
        workspaces: [{ workspaceId: 41, name: 'W', role: 'member' }],
      }),
    ]);
    await ctx.publisher.publish([
      activityEvent(107, { workspaceId: 41 }),
      activityEvent(107, { workspaceId: 41 }),
    ]);
    await countBecomes(107, 2);
    await sendUsersEvents([usersEvent('user.deleted', 107, { userId: 107 })]);
    await countBecomes(107, 0);
    await ctx.publisher.publish(activityEvent(107, { workspaceId: 41 }));
    await eventually(async () => {
      const metrics = (await call('GET', `${ctx.server.url}/metrics`)).body as string;
      return /activity_events_dropped_total\{reason="user_deleted"[^}]*\} 1/.test(metrics)
        ? true
        : undefined;
    }, 20_000);
    expect(await count(107)).toBe(0);
    expect(await feed(107)).toEqual([]);
    expect(await raw.keys(`${ProjectionKeys.user(ctx.names.keyPrefix, 107)}*`)).toEqual([
      ProjectionKeys.stats(ctx.names.keyPrefix, 107),
    ]);
    expect(await raw.hgetall(ProjectionKeys.stats(ctx.names.keyPrefix, 107))).toEqual({
      deleted: '1',
    });
    expect(
      await raw.sismember(ProjectionKeys.workspaceMembers(ctx.names.keyPrefix, 41), '107'),
    ).toBe(0);
    expect(received).toEqual(['activity', 'activity', 'deleted']);
    sub.disconnect();
  });
});

describe('ingestion over HTTP', () => {
  it('when one event or a batch is posted with activity:write, then the answer is 202 once Kafka acknowledged', async () => {
    const writer = await tokens.writer();
    const one = await call('POST', `${ctx.api}/activities`, {
      token: writer,
      body: activityEvent(108),
    });
    expect(one.status).toBe(202);
    expect(ActivityIngestAccepted.parse(one.body)).toMatchObject({ accepted: 1 });
    const batch = await call('POST', `${ctx.api}/activities`, {
      token: writer,
      body: [activityEvent(108), activityEvent(108)],
    });
    expect(batch.body).toMatchObject({ accepted: 2 });
    await countBecomes(108, 3);
    Activity.array().parse(await feed(108));
  });

  it('when items are invalid, a batch oversized or a body over the limit, then the answer is 400 with per-item details or 413', async () => {
    const writer = await tokens.writer();
    const bad = await call('POST', `${ctx.api}/activities`, {
      token: writer,
      body: [
        activityEvent(109),
        { ...activityEvent(109), subject: 'bob' },
        { ...activityEvent(109), data: { verb: 'x' } },
      ],
    });
    expect(bad.status).toBe(400);
    const paths = ErrorBody.parse(bad.body).error.details!.map((d) => d.path);
    expect(paths.some((p) => p.startsWith('body.1.subject'))).toBe(true);
    expect(paths.some((p) => p.startsWith('body.2.data'))).toBe(true);
    const tooMany = await call('POST', `${ctx.api}/activities`, {
      token: writer,
      body: Array.from({ length: 501 }, () => activityEvent(109)),
    });
    expect(tooMany.status).toBe(400);
    const huge = await call('POST', `${ctx.api}/activities`, {
      token: writer,
      body: Array.from({ length: 400 }, () => ({
        ...activityEvent(109),
        data: { ...activityEvent(109).data, metadata: { blob: 'x'.repeat(3000) } },
      })),
    });
    expect(huge.status).toBe(413);
    await ctx.settled();
    expect(await count(109)).toBe(0);
  });
});

describe('the dedup window (DEDUP_WINDOW_S, measured on Kafka record timestamps)', () => {
  it(`when a duplicate arrives inside the window, then it counts once; after the window it counts again, and an id older than the window leaves its bucket at the user's next trim (every ${SEEN_TRIM_EVERY} activities)`, async () => {
    // Record timestamps set by the test: topics on the producer's clock.
    const own = await startActivityService(
      'dedup',
      { DEDUP_WINDOW_S: '60' },
      undefined,
      undefined,
      'producer',
    );
    const producer = new Kafka({
      clientId: 'dedup-test',
      brokers: own.infra.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    try {
      const t0 = T0;
      const first = activityEvent(110, { time: at(0) });
      const other = activityEvent(110, { time: at(0) });
      // An id in the same bucket as `first`, seen once at t0 + 5 s and never again: only the trim can remove it.
      let n = 0;
      while (seenId(`${first.id}-old-${n}`).bucket !== seenId(first.id).bucket) n++;
      const old = activityEvent(110, { id: `${first.id}-old-${n}`, time: at(0) });
      const send = (records: [object, number][]) =>
        producer.send({
          topic: own.activityTopic,
          acks: -1,
          messages: records.map(([event, timestamp]) => ({
            key: '110',
            value: JSON.stringify(event),
            timestamp: String(timestamp),
          })),
        });
      // Record timestamps, not wall time, decide: 59 s later is a duplicate, 61 s after that is not.
      await send([
        [first, t0],
        [old, t0 + 5_000],
        [first, t0 + 59_000],
        [other, t0 + 100_000],
        [first, t0 + 121_000],
      ]);
      const counted = async () =>
        ActivityCount.parse(
          (
            await call('GET', `${own.api}/users/110/activity-count`, {
              token: await tokens.admin(),
            })
          ).body,
        ).count;
      await eventually(async () => ((await counted()) === 4 ? true : undefined), 20_000);
      const second = (ms: number) => Math.ceil(ms / 1000) * 1000;
      // Four activities: no trim yet, so `old` is still held (it can no longer match: the window is checked on every lookup).
      expect((await seenMarks(raw, own.names.keyPrefix, 110)).map((m) => m.id)).toContain(
        seenId(old.id).id,
      );
      // Up to the next trim, at the user's SEEN_TRIM_EVERY-th activity, with record times inside `first`'s and `other`'s window.
      const fillers = Array.from({ length: SEEN_TRIM_EVERY - 4 }, () =>
        activityEvent(110, { time: at(0) }),
      );
      await send(fillers.map((e) => [e, t0 + 122_000]));
      await eventually(
        async () => ((await counted()) === SEEN_TRIM_EVERY ? true : undefined),
        20_000,
      );
      const seen = await seenMarks(raw, own.names.keyPrefix, 110);
      expect(seen.map((m) => m.id)).not.toContain(seenId(old.id).id);
      expect(
        seen.filter((m) => m.id === seenId(first.id).id || m.id === seenId(other.id).id),
      ).toEqual([
        { ...seenId(other.id), at: second(t0 + 100_000) },
        { ...seenId(first.id), at: second(t0 + 121_000) },
      ]);
      expect(seen).toHaveLength(SEEN_TRIM_EVERY - 4 + 2);
      await own.settled();
      expect(await counted()).toBe(SEEN_TRIM_EVERY);
    } finally {
      await producer.disconnect();
      await own.stop();
    }
  });
});
