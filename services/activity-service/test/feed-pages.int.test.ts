import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityCount, ActivityPage, encodeFeedCursor, type FeedKey } from '@suite/contracts';
import { ProjectionReader } from '@suite/projection-reader';
import { call, eventually } from '@suite/testkit';
import { activityEvent, at, startActivityService, tokens } from './helpers.js';

// The feed keeps the last FEED_MAX_ITEMS applied activities, newest first by event time (then
// position, compared as text). Times here collide on purpose (a handful of distinct seconds), arrive
// late and out of order, and the feed spans several blocks of 128 positions and has been trimmed.
const CAP = 300;
const USER = 9301;
const TOTAL = 420;

let ctx: Awaited<ReturnType<typeof startActivityService>>;
let redis: Redis;
let reader: ProjectionReader;
/** The oracle: the feed's event ids in order. */
let expected: string[];

beforeAll(async () => {
  ctx = await startActivityService('feed-pages', { FEED_MAX_ITEMS: String(CAP) });
  redis = new Redis(ctx.infra.redisUrl);
  reader = new ProjectionReader(redis, ctx.names.keyPrefix);
  let x = 20261204;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const events = Array.from({ length: TOTAL }, () => activityEvent(USER, { time: at(Math.floor(rand() * 12) * 1000) }));
  // In slices, so that the steps (and their trims) fall in several places.
  for (let i = 0; i < TOTAL; i += 35) await ctx.publisher.publish(events.slice(i, i + 35));
  await eventually(async () => (ActivityCount.parse((await call('GET', `${ctx.api}/users/${USER}/activity-count`, { token: await tokens.admin() })).body).count === TOTAL ? true : undefined), 30_000);
  const kept = events.map((e, i) => ({ id: e.id, timeMs: Date.parse(e.time), member: String(i + 1) })).slice(-CAP);
  expected = kept.sort((a, b) => b.timeMs - a.timeMs || (a.member < b.member ? 1 : a.member > b.member ? -1 : 0)).map((e) => e.id);
});
afterAll(async () => {
  redis.disconnect();
  await ctx.stop();
});

/** The feed walked in pages of `size`, from `before`. */
async function walk(size: number, before?: FeedKey): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const page = await reader.feedOlder(USER, before, size);
    ids.push(...page.map((e) => (JSON.parse(e.json.toString()) as { id: string }).id));
    if (page.length < size) return ids;
    before = page.at(-1)!.key;
  }
}

describe('feed pages', () => {
  it('walked in pages of any size, from any entry, the feed is the oracle’s order, each entry once', async () => {
    expect(await walk(CAP + 1)).toEqual(expected);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: CAP - 1 }), async (size, from) => {
        const start = (await reader.feedOlder(USER, undefined, from + 1)).at(-1)!.key;
        expect(await walk(size, start)).toEqual(expected.slice(from + 1));
      }),
      { numRuns: 40 },
    );
  });

  it('through the API: the next links cover the feed exactly; a cursor that names no feed entry gives an empty page, a malformed one 400', async () => {
    const token = await tokens.admin();
    const ids: string[] = [];
    for (let url: string | null = `${ctx.api}/users/${USER}/activities?limit=100`; url; ) {
      const page = ActivityPage.parse((await call('GET', url, { token })).body);
      ids.push(...page.results.map((a) => a.id));
      url = page.next;
    }
    expect(ids).toEqual(expected);
    const nowhere = await call('GET', `${ctx.api}/users/${USER}/activities?cursor=${encodeFeedCursor('not a feed key')}`, { token });
    expect(ActivityPage.parse(nowhere.body)).toEqual({ results: [], next: null });
    expect((await call('GET', `${ctx.api}/users/${USER}/activities?cursor=%25%25`, { token })).status).toBe(400);
  });
});
