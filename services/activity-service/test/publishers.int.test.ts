import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlqHeaders, ErrorBody } from '@suite/contracts';
import { call, collectTopic, eventually } from '@suite/testkit';
import { signDevToken } from '@suite/auth';
import { activityEvent, secret, startActivityService, tokens } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
beforeAll(async () => {
  ctx = await startActivityService('publishers');
});
afterAll(() => ctx.stop());

const DAY = 86_400_000;
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
const count = async (user: number) =>
  (
    (await call('GET', `${ctx.api}/users/${user}/activity-count`, { token: await tokens.admin() }))
      .body as { count: number }
  ).count;
const post = async (body: unknown, token?: string) =>
  call('POST', `${ctx.api}/activities`, { token: token ?? (await tokens.writer()), body });

describe('event time: a window around reception (default 30 days back, 5 minutes ahead)', () => {
  it("when an HTTP event's time is outside the window, then the answer is 400 naming the event and nothing of the batch is published", async () => {
    const user = 8201;
    for (const [offset, accepted] of [
      [-29 * DAY, true],
      [4 * 60_000, true],
      [-31 * DAY, false],
      [6 * 60_000, false],
    ] as const) {
      const res = await post(activityEvent(user, { time: iso(offset) }));
      expect(res.status, `time now${offset >= 0 ? '+' : ''}${offset} ms`).toBe(
        accepted ? 202 : 400,
      );
    }
    const far = await post([
      activityEvent(user),
      activityEvent(user, { time: '9999-01-01T00:00:00Z' }),
    ]);
    expect(far.status).toBe(400);
    expect(ErrorBody.parse(far.body).error.details).toEqual([
      {
        path: 'body.1.time',
        message: 'more than 5 minutes after the event was received',
        code: 'out_of_window',
      },
    ]);
    await eventually(async () => ((await count(user)) === 2 ? true : undefined), 20_000);
    await ctx.settled();
    expect(await count(user)).toBe(2);
  });

  it('when a Kafka event is stamped outside the window around its record timestamp, then it is dead-lettered with the reason and the consumer keeps going', async () => {
    const user = 8202;
    const dlq = await collectTopic(ctx.infra.kafkaBrokers, `${ctx.activityTopic}.dlq`);
    try {
      const future = activityEvent(user, { time: '9999-01-01T00:00:00Z' });
      const ancient = activityEvent(user, { time: '1970-01-02T00:00:00Z' });
      await ctx.publisher.publish([activityEvent(user), future, ancient, activityEvent(user)]);
      await eventually(async () => (dlq.records.length >= 2 ? true : undefined), 30_000);
      expect(
        dlq.records.map((r) => [
          JSON.parse(r.value).id,
          r.headers[DlqHeaders.reason],
          r.headers[DlqHeaders.detail],
        ]),
      ).toEqual([
        [future.id, 'out_of_window', 'time: more than 5 minutes after the event was received'],
        [ancient.id, 'out_of_window', 'time: more than 30 days before the event was received'],
      ]);
      await eventually(async () => ((await count(user)) === 2 ? true : undefined), 20_000);
      const feed = (
        await call('GET', `${ctx.api}/users/${user}/activities`, { token: await tokens.admin() })
      ).body as { results: { time: string }[] };
      expect(feed.results.every((a) => a.time < iso(60_000))).toBe(true);
    } finally {
      await dlq.stop();
    }
  });
});

describe('source: the publishing token’s namespace', () => {
  it("when a token publishes, then its source is /<sub> or below it, never another's, and an admin's may be any", async () => {
    const user = 8203;
    const as = (source: string) => ({ ...activityEvent(user), source });
    expect((await post(as('/publisher'))).status).toBe(202);
    expect((await post(as('/publisher/billing/invoices'))).status).toBe(202);
    for (const source of [
      '/users-service',
      '/publisherx',
      'publisher',
      '/',
      'https://evil.example/publisher',
    ]) {
      const res = await post([as('/publisher'), as(source)]);
      expect(res.status, source).toBe(403);
      expect(ErrorBody.parse(res.body).error.message).toContain('body.1.source');
    }
    const other = await signDevToken(secret, { sub: 'billing', scopes: ['activity:write'] });
    expect((await post(as('/publisher'), other)).status).toBe(403);
    expect((await post(as('/billing'), other)).status).toBe(202);
    expect((await post(as('/anything/at/all'), await tokens.admin())).status).toBe(202);
    await eventually(async () => ((await count(user)) === 4 ? true : undefined), 20_000);
    await ctx.settled();
    expect(await count(user)).toBe(4);
  });
});
