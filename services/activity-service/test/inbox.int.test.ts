import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActivityLimits,
  ErrorBody,
  InboxLimits,
  MarkResult,
  NotificationCounts,
  NotificationPage,
  ProjectionKeys,
  type MarkAction,
} from '@suite/contracts';
import { call, eventually, runEntryPoint, signedUsersRecord } from '@suite/testkit';
import {
  accessGranted,
  activityEvent,
  startActivityService,
  tokens,
  usersEvent,
} from './helpers.js';
import { countsOf, inboxOracle, inboxRecords, storedInbox } from './inbox-oracle.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
let redis: Redis;
const serviceDir = `${import.meta.dirname}/..`;
const WS = 7;
const RETENTION = { maxItems: 1000, maxAgeMs: 90 * 86_400_000 };

const asUser = (userId: number) => tokens.user(userId);
const counts = async (userId: number, query = '') =>
  NotificationCounts.parse(
    (
      await call('GET', `${ctx.api}/users/${userId}/notification-counts${query}`, {
        token: await asUser(userId),
      })
    ).body,
  );
const page = async (userId: number, query = '') => {
  const res = await call('GET', `${ctx.api}/users/${userId}/notifications${query}`, {
    token: await asUser(userId),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return NotificationPage.parse(res.body);
};
const mark = async (userId: number, action: MarkAction, body: unknown) => {
  const res = await call('POST', `${ctx.api}/users/${userId}/notifications/${action}`, {
    token: await asUser(userId),
    body,
  });
  return { status: res.status, body: res.body };
};
const totalBecomes = (userId: number, n: number) =>
  eventually(async () => ((await counts(userId)).total === n ? true : undefined), 30_000);

/** An activity of `owner` in workspace 7 that notifies `users`. */
function notifying(
  owner: number,
  users: number[],
  extra: { includeActor?: boolean; id?: string; workspaceId?: number } = {},
) {
  const event = activityEvent(owner, {
    workspaceId: extra.workspaceId ?? WS,
    ...(extra.id ? { id: extra.id } : {}),
  });
  return {
    ...event,
    data: {
      ...event.data,
      notify: { users, ...(extra.includeActor ? { includeActor: true } : {}) },
    },
  };
}

async function grantAccess(userIds: number[], workspaces = [WS]) {
  const producer = await ctx.producer('inbox-access');
  await producer.send({
    topic: ctx.usersTopic,
    acks: -1,
    messages: accessGranted(userIds, workspaces),
  });
}

beforeAll(async () => {
  ctx = await startActivityService('inbox', { INBOX_MARK_WAIT_MS: '10000' });
  redis = new Redis(ctx.infra.redisUrl);
  await grantAccess([201, 202, 203, 204, 207]);
  await grantAccess([205, 208], [WS, 8]);
  // 206 can reach no workspace.
  await ctx.settled();
}, 120_000);
let stopped = false;
afterAll(async () => {
  redis.disconnect();
  if (!stopped) await ctx.stop();
});

describe('inbox deliveries', () => {
  it('when an activity names recipients, then each one who can reach its workspace gets one notification, and the actor only when asked', async () => {
    await ctx.publisher.publish(notifying(201, [201, 202, 206]));
    await totalBecomes(202, 1);
    const { results, counts: c } = await page(202);
    expect(c).toEqual({ unseen: 1, unread: 1, total: 1 });
    expect(results[0]).toMatchObject({
      workspaceId: WS,
      seen: false,
      read: false,
      archived: false,
      activity: { userId: 201, actorId: 201, verb: 'commented' },
    });
    expect(results[0]!.activity).not.toHaveProperty('notify');
    await ctx.publisher.publish(notifying(207, [207], { includeActor: true }));
    await totalBecomes(207, 1);
    await ctx.settled();
    expect(await counts(201)).toMatchObject({ total: 0 });
    expect(await counts(206)).toMatchObject({ total: 0 });
  });

  it('when 150 activities notify one user and 30 of them are published again, then the counts are exactly 150 (not capped at 100)', async () => {
    const events = Array.from({ length: 150 }, () => notifying(201, [203]));
    await ctx.publisher.publish(events);
    await ctx.publisher.publish(events.slice(0, 30));
    await totalBecomes(203, 150);
    await ctx.settled();
    expect(await counts(203)).toMatchObject({ unseen: 150, unread: 150, total: 150 });
    // Pages walk all of them, newest first, once each.
    const seen = new Set<string>();
    let query = '?limit=40';
    let last = Infinity;
    for (;;) {
      const p = await page(203, query);
      for (const n of p.results) {
        const position = Number(n.cursor.split('.')[1]);
        expect(position).toBeLessThan(last);
        last = position;
        seen.add(n.id);
      }
      if (!p.next) break;
      query = new URL(p.next).search;
    }
    expect(seen.size).toBe(150);
  });

  it('when the bell is opened with the inbox cursor and more arrive during the call, then what arrived stays unseen', async () => {
    await ctx.publisher.publish(Array.from({ length: 5 }, () => notifying(201, [204])));
    await totalBecomes(204, 5);
    const { cursor } = await counts(204);
    await ctx.publisher.publish(Array.from({ length: 3 }, () => notifying(201, [204])));
    await totalBecomes(204, 8);
    const answer = await mark(204, 'seen', { upTo: cursor });
    expect(answer.status).toBe(200);
    expect(MarkResult.parse(answer.body)).toMatchObject({ unseen: 3, unread: 8, total: 8 });
    // Without upTo: everything delivered before the mark.
    expect(MarkResult.parse((await mark(204, 'seen', {})).body)).toMatchObject({
      unseen: 0,
      unread: 8,
      total: 8,
    });
  });

  it('when marks come by id or for all, then states and counts change; unknown ids are ignored; a cursor from another epoch is 409', async () => {
    const { results } = await page(204, '?limit=8');
    const [a, b, c] = results;
    const answer = await mark(204, 'read', { ids: [a!.id, b!.id, 'A'.repeat(22)] });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ unread: 6, total: 8, ignored: ['A'.repeat(22)] });
    expect((await mark(204, 'unread', { ids: [b!.id] })).body).toMatchObject({
      unread: 7,
      total: 8,
    });
    expect((await mark(204, 'archive', { ids: [c!.id] })).body).toMatchObject({
      unread: 6,
      total: 7,
    });
    expect((await page(204, '?archived=only')).results.map((n) => n.id)).toEqual([c!.id]);
    expect((await page(204)).results.map((n) => n.id)).not.toContain(c!.id);
    expect((await page(204, '?status=unread')).results).toHaveLength(6);
    expect((await mark(204, 'unarchive', { ids: [c!.id] })).body).toMatchObject({
      unread: 7,
      total: 8,
    });
    expect((await mark(204, 'read', { all: true })).body).toMatchObject({
      unseen: 0,
      unread: 0,
      total: 8,
    });
    const read = await page(204, '?limit=1');
    expect(read.results[0]).toMatchObject({ seen: true, read: true });
    const conflict = await mark(204, 'read', { all: true, upTo: 'zzzz.3' });
    expect(conflict.status).toBe(409);
    expect(ErrorBody.parse(conflict.body).error.code).toBe('conflict');
    expect(
      (
        await call('GET', `${ctx.api}/users/204/notifications?cursor=zzzz.3`, {
          token: await asUser(204),
        })
      ).status,
    ).toBe(409);
  });

  it('when the user is not the caller, then marks and reads are 403; malformed bodies are 400 with the error shape', async () => {
    const other = await call('GET', `${ctx.api}/users/204/notifications`, {
      token: await asUser(205),
    });
    expect(other.status).toBe(403);
    const admin = await call('GET', `${ctx.api}/users/204/notification-counts`, {
      token: await tokens.admin(),
    });
    expect(admin.status).toBe(200);
    for (const body of [
      {},
      { ids: [] },
      { ids: ['short'] },
      { all: false },
      { all: true, ids: ['A'.repeat(22)] },
      { ids: Array.from({ length: 101 }, (_, i) => String(i).padStart(22, 'x')) },
    ]) {
      const res = await mark(204, 'read', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(ErrorBody.parse(res.body).error.code).toBe('validation_failed');
    }
    expect((await mark(204, 'seen', { upTo: 'not a cursor' })).status).toBe(400);
    const tooMany = notifying(
      201,
      Array.from({ length: 1001 }, (_, i) => i + 1),
    );
    const refused = await call('POST', `${ctx.api}/activities`, {
      token: await tokens.writer(),
      body: tooMany,
    });
    expect(refused.status).toBe(400);
  });

  it('when a recipient is deleted, then their inbox goes with them and nothing more is delivered', async () => {
    await totalBecomes(207, 1);
    const producer = await ctx.producer('inbox-delete');
    await producer.send({
      topic: ctx.usersTopic,
      acks: -1,
      messages: [signedUsersRecord(usersEvent('user.deleted', 207, { userId: 207 }))],
    });
    await ctx.settled();
    await ctx.publisher.publish(notifying(201, [207]));
    await ctx.settled();
    expect(await redis.keys(`${ctx.names.keyPrefix}{u:207}:inbox*`)).toEqual([]);
  });

  it('when activities name 1,000 recipients each with large metadata, then every recipient gets each one (megabytes per inbox partition go in several sends)', async () => {
    const recipients = Array.from({ length: InboxLimits.notifyMaxUsers }, (_, i) => 3001 + i);
    await grantAccess(recipients);
    await ctx.settled();
    const metadata = { note: 'n'.repeat(ActivityLimits.metadataMaxBytes - 20) };
    const events = [1, 2].map(() => {
      const event = notifying(201, recipients);
      return { ...event, data: { ...event.data, metadata } };
    });
    // Each delivery carries its activity (~4 KiB): ~4 MiB per activity over two inbox partitions.
    await ctx.publisher.publish(events);
    const held = async () => {
      const pipeline = redis.pipeline();
      for (const u of recipients) pipeline.zcard(ProjectionKeys.inboxItems(ctx.names.keyPrefix, u));
      return (await pipeline.exec())!.map(([, n]) => Number(n));
    };
    await eventually(async () => ((await held()).every((n) => n === 2) ? true : undefined), 60_000);
    expect(await counts(recipients.at(-1)!)).toMatchObject({ unseen: 2, unread: 2, total: 2 });
  }, 90_000);

  it('when workspaces differ, then counts and marks can be asked for one workspace', async () => {
    await ctx.publisher.publish([
      notifying(201, [208]),
      notifying(201, [208], { workspaceId: 8 }),
      notifying(201, [208], { workspaceId: 8 }),
    ]);
    await totalBecomes(208, 3);
    expect(await counts(208, '?workspaceId=8')).toMatchObject({ unread: 2, total: 2 });
    expect((await mark(208, 'read', { all: true, workspaceId: 8 })).body).toMatchObject({
      unread: 1,
      total: 3,
    });
    expect((await page(208, '?workspaceId=7')).results).toHaveLength(1);
  });
});

describe('the inbox against an oracle', () => {
  it("when deliveries, duplicate publishes and marks from two devices interleave at random, then sets and counts equal the oracle's, before and after a rebuild", async () => {
    const user = 205;
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const published: ReturnType<typeof notifying>[] = [];
    for (let round = 0; round < 12; round++) {
      const fresh = Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
        notifying(201, [user], { workspaceId: random() < 0.7 ? WS : 8 }),
      );
      published.push(...fresh);
      const again = published.filter(() => random() < 0.1);
      // Deliveries race the marks: not awaited until the end of the round.
      const publishing = ctx.publisher.publish([...fresh, ...again]);
      const { results, cursor } = await page(user, '?archived=include&limit=50');
      const ids = results.map((n) => n.id);
      const pick = () => ids.filter(() => random() < 0.3).slice(0, 5);
      const actions: MarkAction[] = ['read', 'unread', 'archive', 'unarchive'];
      // Two devices mark at once.
      await Promise.all(
        [0, 1].map(async () => {
          const r = random();
          const action = actions[Math.floor(random() * actions.length)]!;
          if (r < 0.25) return mark(user, 'seen', random() < 0.5 ? { upTo: cursor } : {});
          if (r < 0.6 && pick().length > 0)
            return mark(user, action, { ids: pick().length > 0 ? pick() : ids.slice(0, 1) });
          return mark(
            user,
            action,
            random() < 0.5
              ? { all: true, upTo: cursor }
              : { all: true, ...(random() < 0.3 ? { workspaceId: 8 } : {}) },
          );
        }),
      );
      await publishing;
    }
    // Every kind of mark at least once, whatever the rounds drew. The last round may have
    // archived everything there was, so the page includes the archived.
    await ctx.settled();
    const last = (await page(user, '?archived=include&limit=3')).results;
    await mark(user, 'read', { ids: [last[0]!.id] });
    await mark(user, 'archive', { ids: [last[1]!.id] });
    await mark(user, 'seen', {});
    await ctx.settled();
    await eventually(
      async () => {
        const records = await inboxRecords(ctx.infra.kafkaBrokers, ctx.inboxTopic, String(user));
        const ids = new Set(
          records.flatMap((r) => ('deliveryId' in r.event.data ? [r.event.data.deliveryId] : [])),
        );
        return ids.size >= published.length ? true : undefined;
      },
      30_000,
      500,
    );
    await ctx.settled();
    const records = await inboxRecords(ctx.infra.kafkaBrokers, ctx.inboxTopic, String(user));
    const expected = inboxOracle(records, RETENTION);
    expect(expected.items.length).toBe(published.length);
    // The run exercised every kind of state.
    expect(expected.seenUpTo).toBeGreaterThan(0);
    expect(expected.read.length).toBeGreaterThan(0);
    expect(expected.archived.length + expected.unread.length).toBeGreaterThan(0);
    const before = await storedInbox(redis, ctx.names.keyPrefix, user);
    expect(before).toEqual(expected);
    // The inbox log holds every delivery and mark at its position, with the counts after it.
    const log = await redis.lrange(ProjectionKeys.inboxLog(ctx.names.keyPrefix, user), 0, -1);
    expect(log.map((e) => Number(e.split('|')[0]))).toEqual(
      Array.from({ length: expected.position }, (_, i) => i + 1),
    );
    expect(log.at(-1)!.split('|').slice(2, 5).map(Number)).toEqual(
      Object.values(countsOf(expected)),
    );
    const apiCounts = await counts(user);
    expect({ unseen: apiCounts.unseen, unread: apiCounts.unread, total: apiCounts.total }).toEqual(
      countsOf(expected),
    );

    // A rebuild replays deliveries and marks alike, and never routes again.
    await ctx.stop();
    stopped = true;
    const rebuilt = await runEntryPoint(
      serviceDir,
      'src/cli/rebuild.cli.ts',
      { ...ctx.config, LOG_LEVEL: 'warn' },
      120_000,
    );
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(await storedInbox(redis, ctx.names.keyPrefix, user)).toEqual(expected);
    expect(await redis.lrange(ProjectionKeys.inboxLog(ctx.names.keyPrefix, user), 0, -1)).toEqual(
      log,
    );
    expect(await inboxRecords(ctx.infra.kafkaBrokers, ctx.inboxTopic, String(user))).toHaveLength(
      records.length,
    );
  }, 240_000);
});
