import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityCount, ActivityPage, encodeFeedCursor, type FeedKey } from '@suite/contracts';
import { ProjectionReader, type FeedPath } from '@suite/projection-reader';
import { call, eventually } from '@suite/testkit';
import { activityEvent, at, startActivityService, tokens } from './helpers.js';
import { newestFirst } from './oracle.js';

// The feed keeps the last FEED_MAX_ITEMS applied activities, newest first by event time, then
// position. Three users, each fed 420 events in slices (so steps and trims fall in several places)
// and past the cap of 300, so the feed spans several blocks of 128 positions and has been trimmed:
// - shuffled: times collide on purpose (a dozen distinct seconds) and arrive out of order, so pages
//   go through the blocks;
// - ordered: times never go back (three per second), so every page is read from the log's tail;
// - mixed: shuffled first, then newer and in order, so a walk starts at the tail and crosses into the blocks.
const CAP = 300;
const TOTAL = 420;
const USERS = { shuffled: 9301, ordered: 9302, mixed: 9303 };

let ctx: Awaited<ReturnType<typeof startActivityService>>;
let redis: Redis;
let reader: ProjectionReader;
/** Feed pages read so far, by way. */
const paths: Record<FeedPath, number> = { tail: 0, blocks: 0 };
/** The oracle: each user's feed, as event ids in order. */
const expected = new Map<number, string[]>();

beforeAll(async () => {
  ctx = await startActivityService('feed-pages', { FEED_MAX_ITEMS: String(CAP) });
  redis = new Redis(ctx.infra.redisUrl);
  reader = new ProjectionReader(redis, ctx.names.keyPrefix, (path) => paths[path]++);
  let x = 20261204;
  const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const secondOf = {
    [USERS.shuffled]: () => Math.floor(rand() * 12),
    [USERS.ordered]: (i: number) => Math.floor(i / 3),
    [USERS.mixed]: (i: number) => (i < 150 ? Math.floor(rand() * 12) : 20 + Math.floor(i / 3)),
  };
  for (const user of Object.values(USERS)) {
    const events = Array.from({ length: TOTAL }, (_, i) =>
      activityEvent(user, { time: at(secondOf[user]!(i) * 1000) }),
    );
    for (let i = 0; i < TOTAL; i += 35) await ctx.publisher.publish(events.slice(i, i + 35));
    const kept = events
      .map((e, i) => ({ id: e.id, timeMs: Date.parse(e.time), position: i + 1 }))
      .slice(-CAP);
    expected.set(
      user,
      kept.sort(newestFirst).map((e) => e.id),
    );
  }
  for (const user of Object.values(USERS)) {
    await eventually(
      async () =>
        ActivityCount.parse(
          (
            await call('GET', `${ctx.api}/users/${user}/activity-count`, {
              token: await tokens.admin(),
            })
          ).body,
        ).count === TOTAL
          ? true
          : undefined,
      30_000,
    );
  }
});
afterAll(async () => {
  redis.disconnect();
  await ctx.stop();
});

/** A user's feed walked in pages of `size`, from `before`. */
async function walk(user: number, size: number, before?: FeedKey): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const page = await reader.feedOlder(user, before, size);
    ids.push(...page.map((e) => (JSON.parse(e.json.toString()) as { id: string }).id));
    if (page.length < size) return ids;
    before = page.at(-1)!.key;
  }
}

describe('feed pages', () => {
  it.each(Object.entries(USERS))(
    "when %s is walked in pages of any size from any entry, then the feed is the oracle's order, each entry once",
    async (_, user) => {
      const want = expected.get(user)!;
      const before = { ...paths };
      expect(await walk(user, CAP + 1)).toEqual(want);
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 60 }),
          fc.integer({ min: 0, max: CAP - 1 }),
          async (size, from) => {
            const start = (await reader.feedOlder(user, undefined, from + 1)).at(-1)!.key;
            expect(await walk(user, size, start)).toEqual(want.slice(from + 1));
          },
        ),
        { numRuns: 40 },
      );
      // Which way the pages were read: the log's tail where the feed is the log reversed, the blocks elsewhere.
      const tail = paths.tail - before.tail;
      const blocks = paths.blocks - before.blocks;
      if (user === USERS.ordered) expect(blocks).toBe(0);
      if (user === USERS.shuffled) expect(tail).toBeLessThan(blocks / 10);
      if (user === USERS.mixed) expect(Math.min(tail, blocks)).toBeGreaterThan(20);
    },
  );

  it('when activities arrive between two pages, then a late one lands in a later page and a newer one stays above the cursor', async () => {
    const user = 9304;
    const events = Array.from({ length: 50 }, (_, i) =>
      activityEvent(user, { time: at(100_000 + i * 1000) }),
    );
    await ctx.publisher.publish(events);
    const countIs = (n: number) =>
      eventually(
        async () =>
          ActivityCount.parse(
            (
              await call('GET', `${ctx.api}/users/${user}/activity-count`, {
                token: await tokens.admin(),
              })
            ).body,
          ).count === n
            ? true
            : undefined,
        20_000,
      );
    await countIs(50);
    const first = await reader.feedOlder(user, undefined, 10);
    const cursor = first.at(-1)!.key;
    expect(cursor.inOrder).toBe(true);
    // Late: between the 30th and the 31st by time; newer: above everything.
    const late = activityEvent(user, { time: at(100_000 + 30_500) });
    const newer = activityEvent(user, { time: at(100_000 + 99_000) });
    await ctx.publisher.publish([late, newer]);
    await countIs(52);
    const byTime = [...events, late]
      .sort((a, b) => Date.parse(b.time) - Date.parse(a.time))
      .map((e) => e.id);
    expect(await walk(user, 10, cursor)).toEqual(byTime.slice(10));
  });

  it("when the API's next links are followed, then they cover the feed exactly; a cursor naming no entry gives an empty page, a malformed one 400", async () => {
    const token = await tokens.admin();
    for (const user of Object.values(USERS)) {
      const ids: string[] = [];
      for (let url: string | null = `${ctx.api}/users/${user}/activities?limit=100`; url;) {
        const page = ActivityPage.parse((await call('GET', url, { token })).body);
        ids.push(...page.results.map((a) => a.id));
        url = page.next;
      }
      expect(ids).toEqual(expected.get(user));
    }
    const nowhere = await call(
      'GET',
      `${ctx.api}/users/${USERS.mixed}/activities?cursor=${encodeFeedCursor('not a feed key')}`,
      { token },
    );
    expect(ActivityPage.parse(nowhere.body)).toEqual({ results: [], next: null });
    expect(
      (await call('GET', `${ctx.api}/users/${USERS.mixed}/activities?cursor=%25%25`, { token }))
        .status,
    ).toBe(400);
  });
});
