import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActivityLimits,
  ErrorBody,
  ProjectionKeys,
  SEEN_BUCKETS,
  SEEN_TRIM_EVERY,
  StatsField,
} from '@suite/contracts';
import { call, eventually } from '@suite/testkit';
import { activityEvent, seenId, seenMarks, startActivityService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
let redis: Redis;
const WORKSPACES = 3;
const DEDUP_IDS = 100;
const PER_BUCKET = Math.ceil(DEDUP_IDS / SEEN_BUCKETS);
beforeAll(async () => {
  ctx = await startActivityService('bounded', {
    WORKSPACES_PER_USER_MAX: String(WORKSPACES),
    DEDUP_MAX_IDS_PER_USER: String(DEDUP_IDS),
    RATE_LIMIT_INGEST_PER_MIN: '1000',
  });
  redis = new Redis(ctx.infra.redisUrl);
});
afterAll(async () => {
  redis.disconnect();
  await ctx.stop();
});

const HOUR = 3_600_000;
const count = async (user: number) =>
  (
    (await call('GET', `${ctx.api}/users/${user}/activity-count`, { token: await tokens.admin() }))
      .body as { count: number }
  ).count;
/** The workspaces a user's stats track, with their counts, and the tracked count. */
async function tracked(user: number) {
  const stats = await redis.hgetall(ProjectionKeys.stats(ctx.names.keyPrefix, user));
  const counts = Object.fromEntries(
    Object.entries(stats)
      .filter(([f]) => f.startsWith(StatsField.workspaceCount))
      .map(([f, v]) => [Number(f.slice(2)), Number(v)]),
  );
  return { counts, w: Number(stats[StatsField.workspaces]) };
}

describe('per-user state is bounded', () => {
  it(`when a user is active in more than ${WORKSPACES} workspaces, then the stats keep the ${WORKSPACES} most recently active with their counts, batch or not, and the count stays exact`, async () => {
    const base = Date.now() - 24 * HOUR;
    const at = (h: number) => new Date(base + h * HOUR).toISOString();
    // One at a time, then a batch that goes back to an evicted workspace and brings a late event.
    for (const [ws, h] of [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ] as const)
      await ctx.publisher.publish([activityEvent(6101, { workspaceId: ws, time: at(h) })]);
    await eventually(async () => ((await count(6101)) === 4 ? true : undefined), 20_000);
    expect(await tracked(6101)).toEqual({ counts: { 2: 1, 3: 1, 4: 1 }, w: 3 });
    await ctx.publisher.publish([
      activityEvent(6101, { workspaceId: 1, time: at(5) }),
      activityEvent(6101, { workspaceId: 5, time: at(0.5) }), // late: older than every tracked one, forgotten at once
      activityEvent(6101, { workspaceId: 4, time: at(6) }),
      activityEvent(6101, { workspaceId: 1, time: at(7) }),
    ]);
    await eventually(async () => ((await count(6101)) === 8 ? true : undefined), 20_000);
    expect(await tracked(6101)).toEqual({ counts: { 1: 2, 4: 2, 3: 1 }, w: 3 });
    // A hundred more workspaces from one publisher: still three fields pairs.
    await ctx.publisher.publish(
      Array.from({ length: 100 }, (_, i) =>
        activityEvent(6101, { workspaceId: 100 + i, time: at(8 + i / 100) }),
      ),
    );
    await eventually(async () => ((await count(6101)) === 108 ? true : undefined), 20_000);
    expect(await tracked(6101)).toEqual({ counts: { 197: 1, 198: 1, 199: 1 }, w: 3 });
  });

  it(`when more distinct events arrive within the dedup window than DEDUP_MAX_IDS_PER_USER (${DEDUP_IDS}) allows, then at each trim (every ${SEEN_TRIM_EVERY} activities) each of the ${SEEN_BUCKETS} buckets keeps its newest ${PER_BUCKET}, the ids since the last trim are held on top, and a duplicate of a kept id still counts once`, async () => {
    const events = Array.from({ length: 150 }, () => activityEvent(6102));
    await ctx.publisher.publish(events);
    await eventually(async () => ((await count(6102)) === 150 ? true : undefined), 20_000);
    const marks = await seenMarks(redis, ctx.names.keyPrefix, 6102);
    const published = new Map(events.map((e) => [seenId(e.id).id, seenId(e.id).bucket]));
    // The last trim ran at the 128th activity: what came before it was cut to the bucket's share, what came after is all there.
    const lastTrim = Math.floor(events.length / SEEN_TRIM_EVERY) * SEEN_TRIM_EVERY;
    const inBucket = (list: typeof events, bucket: number) =>
      list.filter((e) => seenId(e.id).bucket === bucket).length;
    for (let bucket = 0; bucket < SEEN_BUCKETS; bucket++) {
      const want =
        Math.min(inBucket(events.slice(0, lastTrim), bucket), PER_BUCKET) +
        inBucket(events.slice(lastTrim), bucket);
      expect(marks.filter((m) => m.bucket === bucket)).toHaveLength(want);
    }
    for (const mark of marks) expect(published.get(mark.id)).toBe(mark.bucket);
    expect(marks.length).toBeLessThan(150);
    const kept = events.find((e) => marks.some((m) => m.id === seenId(e.id).id))!;
    await ctx.publisher.publish([kept]);
    await ctx.settled();
    expect(await count(6102)).toBe(150);
  });

  it(`when a request carries more than ${ActivityLimits.batchMaxItems} events, then it is refused with 400 and nothing is published`, async () => {
    const refused = await call('POST', `${ctx.api}/activities`, {
      token: await tokens.admin(),
      body: Array.from({ length: ActivityLimits.batchMaxItems + 1 }, () => activityEvent(6103)),
    });
    expect(refused.status).toBe(400);
    expect(ErrorBody.parse(refused.body).error.details?.[0]?.path).toBe('body');
    await ctx.settled();
    expect(await count(6103)).toBe(0);
  });

  it('when a publisher sends batches, then the ingest budget counts their events: 500 + 500 pass a budget of 1,000, and the next single event is 429', async () => {
    const writer = await tokens.writer();
    const batch = () =>
      Array.from({ length: ActivityLimits.batchMaxItems }, () => activityEvent(6104));
    const first = await call('POST', `${ctx.api}/activities`, { token: writer, body: batch() });
    expect(first.status).toBe(202);
    expect(first.headers.get('ratelimit')).toMatch(/^"ingest";r=500;t=\d+$/);
    expect(
      (await call('POST', `${ctx.api}/activities`, { token: writer, body: batch() })).status,
    ).toBe(202);
    const refused = await call('POST', `${ctx.api}/activities`, {
      token: writer,
      body: activityEvent(6104),
    });
    expect(refused.status).toBe(429);
    expect(ErrorBody.parse(refused.body).error.message).toContain('events ingested');
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
