import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationPage, ProjectionKeys, type MarkAction } from '@suite/contracts';
import { call, eventually, signedUsersRecord } from '@suite/testkit';
import { activityEvent, startActivityService, tokens, usersEvent } from './helpers.js';
import { inboxOracle, inboxRecords, storedInbox } from './inbox-oracle.js';

// An inbox keeps INBOX_MAX_ITEMS notifications: the oldest by position leave first, from every set,
// after each delivery. A small cap makes the trim run on most deliveries of this test.
const MAX_ITEMS = 5;
const RETENTION = { maxItems: MAX_ITEMS, maxAgeMs: 90 * 86_400_000 };
const WS = 7;
const OWNER = 301;
const USER = 302;

let ctx: Awaited<ReturnType<typeof startActivityService>>;
let redis: Redis;

const notifying = (id?: string) => {
  const event = activityEvent(OWNER, { workspaceId: WS, ...(id ? { id } : {}) });
  return { ...event, data: { ...event.data, notify: { users: [USER] } } };
};
const page = async () => {
  const res = await call('GET', `${ctx.api}/users/${USER}/notifications?archived=include`, {
    token: await tokens.user(USER),
  });
  return NotificationPage.parse(res.body);
};
const mark = async (action: MarkAction, body: unknown) =>
  call('POST', `${ctx.api}/users/${USER}/notifications/${action}`, {
    token: await tokens.user(USER),
    body,
  });

beforeAll(async () => {
  ctx = await startActivityService('inbox-retention', {
    INBOX_MAX_ITEMS: String(MAX_ITEMS),
    INBOX_MARK_WAIT_MS: '10000',
  });
  redis = new Redis(ctx.infra.redisUrl);
  const producer = await ctx.producer('inbox-retention-access');
  await producer.send({
    topic: ctx.usersTopic,
    acks: -1,
    messages: [OWNER, USER].map((u) =>
      signedUsersRecord(
        usersEvent('user.access-changed', u, {
          userId: u,
          version: 1,
          workspaces: [{ workspaceId: WS, name: `W${WS}`, role: 'member' }],
        }),
      ),
    ),
  });
  await ctx.settled();
}, 120_000);
afterAll(async () => {
  redis.disconnect();
  await ctx.stop();
});

describe('inbox retention', () => {
  it(`when more than INBOX_MAX_ITEMS (${MAX_ITEMS}) notifications arrive between marks and redeliveries, then the inbox keeps the newest ${MAX_ITEMS} with the oracle's states, counts and log`, async () => {
    const published: ReturnType<typeof notifying>[] = [];
    for (let round = 0; round < 6; round++) {
      const fresh = Array.from({ length: 3 }, () => notifying());
      published.push(...fresh);
      // A redelivery of an event already trimmed away comes back as new (its id is not held).
      await ctx.publisher.publish([...fresh, ...(round > 2 ? [published[0]!] : [])]);
      await ctx.settled();
      const { results } = await page();
      expect(results.length).toBeLessThanOrEqual(MAX_ITEMS);
      if (round % 2 === 0) await mark('read', { ids: results.slice(0, 2).map((n) => n.id) });
      else await mark('archive', { ids: [results.at(-1)!.id] });
      if (round === 3) await mark('seen', {});
    }
    await ctx.settled();
    const records = await eventually(async () => {
      const all = await inboxRecords(ctx.infra.kafkaBrokers, ctx.inboxTopic, String(USER));
      const deliveries = all.filter((r) => 'deliveryId' in r.event.data);
      return deliveries.length >= published.length ? all : undefined;
    }, 30_000);
    await ctx.settled();
    const expected = inboxOracle(records, RETENTION);
    expect(expected.items).toHaveLength(MAX_ITEMS);
    expect(await storedInbox(redis, ctx.names.keyPrefix, USER)).toEqual(expected);
    // The inbox log keeps as many entries as the inbox keeps notifications, the newest last.
    const log = await redis.lrange(ProjectionKeys.inboxLog(ctx.names.keyPrefix, USER), 0, -1);
    expect(log.map((e) => Number(e.split('|')[0]))).toEqual(
      Array.from({ length: MAX_ITEMS }, (_, i) => expected.position - MAX_ITEMS + 1 + i),
    );
  });
});
