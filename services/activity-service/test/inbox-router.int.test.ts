import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { INBOX_DELIVERED_TYPE, ProjectionKeys, StatsField } from '@suite/contracts';
import { eventually } from '@suite/testkit';
import { accessGranted, activityEvent, startActivityService } from './helpers.js';
import { inboxRecords } from './inbox-oracle.js';

const WS = 7;
const RECIPIENTS = [2, 3];

type Started = Awaited<ReturnType<typeof startActivityService>>;
let redis: Redis | undefined;
afterAll(() => redis?.disconnect());

/** An activity of user 1 that names the recipients. */
function notifying() {
  const event = activityEvent(1, { workspaceId: WS });
  return { ...event, data: { ...event.data, notify: { users: RECIPIENTS } } };
}

async function grantAccess(ctx: Started) {
  const producer = await ctx.producer('router-access');
  await producer.send({
    topic: ctx.usersTopic,
    acks: -1,
    messages: accessGranted(RECIPIENTS, [WS]),
  });
}

/** The deliveries recorded in inbox.events for a recipient (committed ones). */
const deliveries = async (ctx: Started, recipient: number) =>
  (await inboxRecords(ctx.infra.kafkaBrokers, ctx.inboxTopic, String(recipient))).filter(
    (r) => r.event.type === INBOX_DELIVERED_TYPE,
  );

describe('the inbox router in the projection consumer', () => {
  it('when the router was off while activities that name recipients were applied, then a restart with it on routes each once, and later restarts route nothing again', async () => {
    const off = await startActivityService('router-catch-up', { INBOX_ROUTER_ENABLED: 'false' });
    redis = new Redis(off.infra.redisUrl);
    const held = (u: number) => redis!.zcard(ProjectionKeys.inboxItems(off.names.keyPrefix, u));
    await grantAccess(off);
    await off.settled();
    await off.publisher.publish(Array.from({ length: 30 }, notifying));
    await off.settled();
    // Applied to the owner's feed, routed to no one.
    expect(
      Number(
        (await redis.hget(ProjectionKeys.stats(off.names.keyPrefix, 1), StatsField.count)) ?? 0,
      ),
    ).toBeGreaterThanOrEqual(30);
    expect(await deliveries(off, 2)).toHaveLength(0);
    await off.stop();

    // The projection stands past those records; the router's offset does not: it catches up.
    const on = await startActivityService('router-catch-up', {}, off.infra, off.names);
    await eventually(
      async () => ((await held(2)) === 30 && (await held(3)) === 30 ? true : undefined),
      30_000,
    );
    await on.stop();

    // Started again (from the projection's checkpoint and the router's offset), and one more activity.
    const again = await startActivityService('router-catch-up', {}, off.infra, off.names);
    await again.publisher.publish([notifying()]);
    await eventually(async () => ((await held(2)) === 31 ? true : undefined), 30_000);
    await again.settled();
    for (const u of RECIPIENTS) {
      const ids = (await deliveries(again, u)).map((r) => r.event.id);
      // Each activity was routed once to each recipient: no delivery was written twice.
      expect(ids).toHaveLength(31);
      expect(new Set(ids).size).toBe(31);
      expect(await held(u)).toBe(31);
    }
    await again.stop();
  }, 120_000);
});
