import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlqHeaders } from '@suite/contracts';
import { OriginHeaders, USERS_SERVICE_ORIGIN, signOrigin } from '@suite/auth';
import { TEST_ORIGIN_KEY, call, collectTopic, eventually, signedUsersRecord } from '@suite/testkit';
import { activityEvent, startActivityService, tokens, usersEvent } from './helpers.js';

let ctx: Awaited<ReturnType<typeof startActivityService>>;
let producer: Producer;
beforeAll(async () => {
  ctx = await startActivityService('users-origin');
  producer = await ctx.producer('forger');
}, 60_000);
afterAll(() => ctx.stop());

const count = async (user: number) =>
  (
    (await call('GET', `${ctx.api}/users/${user}/activity-count`, { token: await tokens.admin() }))
      .body as { count: number }
  ).count;

describe('users.events: only the users-service is believed', () => {
  it("when deletions are forged, then they change nothing and are dead-lettered with the reason, while the users-service's own are applied", async () => {
    const user = 8301;
    await ctx.publisher.publish([activityEvent(user), activityEvent(user)]);
    await eventually(async () => ((await count(user)) === 2 ? true : undefined), 20_000);
    const deletion = usersEvent('user.deleted', user, { userId: user });
    const value = JSON.stringify(deletion);
    const dlq = await collectTopic(ctx.infra.kafkaBrokers, `${ctx.usersTopic}.dlq`);
    try {
      const forgeries = [
        { key: String(user), value }, // no mark at all
        { key: String(user), value, headers: { [OriginHeaders.origin]: USERS_SERVICE_ORIGIN } }, // a claim without a signature
        {
          key: String(user),
          value,
          headers: signOrigin(
            USERS_SERVICE_ORIGIN,
            'a-key-the-forger-made-up-0123456789abcdef',
            value,
          ),
        },
        { key: String(user), value, headers: signOrigin('billing', TEST_ORIGIN_KEY, value) }, // the right key, another origin
        {
          key: String(user),
          value,
          headers: signedUsersRecord(usersEvent('user.deleted', 1, { userId: 1 })).headers,
        }, // a genuine mark moved to another record
      ];
      await producer.send({ topic: ctx.usersTopic, acks: -1, messages: forgeries });
      await eventually(
        async () => (dlq.records.length >= forgeries.length ? true : undefined),
        30_000,
      );
      expect(dlq.records.map((r) => r.headers[DlqHeaders.reason])).toEqual(
        Array(forgeries.length).fill('untrusted_origin'),
      );
      expect(dlq.records.map((r) => r.headers[DlqHeaders.detail])).toEqual([
        'no mark of origin (suite-origin and suite-signature headers)',
        'no mark of origin (suite-origin and suite-signature headers)',
        expect.stringMatching(/^signed with key [0-9a-f]{8}, which is not configured$/),
        'origin "billing" may not write here',
        'signature does not match the record',
      ]);
      await ctx.settled();
      expect(await count(user)).toBe(2);

      await producer.send({
        topic: ctx.usersTopic,
        acks: -1,
        messages: [signedUsersRecord(deletion)],
      });
      await eventually(async () => ((await count(user)) === 0 ? true : undefined), 20_000);
      expect(dlq.records).toHaveLength(forgeries.length);
    } finally {
      await dlq.stop();
    }
  });

  it('when the key was rotated, then records signed with a previous key are believed while it is listed', async () => {
    const rotated = await startActivityService('users-origin-rotated', {
      USERS_EVENTS_SIGNING_KEY: 'the-new-users-events-origin-key-0123456789ab',
      USERS_EVENTS_PREVIOUS_KEYS: TEST_ORIGIN_KEY,
    });
    const rotatedProducer = await rotated.producer('users-service');
    try {
      const user = 8302;
      await rotated.publisher.publish([activityEvent(user)]);
      const counted = async () =>
        (
          (
            await call('GET', `${rotated.api}/users/${user}/activity-count`, {
              token: await tokens.admin(),
            })
          ).body as { count: number }
        ).count;
      await eventually(async () => ((await counted()) === 1 ? true : undefined), 20_000);
      await rotatedProducer.send({
        topic: rotated.usersTopic,
        acks: -1,
        messages: [signedUsersRecord(usersEvent('user.deleted', user, { userId: user }))],
      });
      await eventually(async () => ((await counted()) === 0 ? true : undefined), 20_000);
    } finally {
      await rotated.stop();
    }
  });

  it('when USERS_EVENTS_UNSIGNED_BEFORE is set after an upgrade, then unsigned records before it are believed and later ones are not', async () => {
    const legacy = await startActivityService('users-origin-legacy', {
      USERS_EVENTS_UNSIGNED_BEFORE: '0:1,1:0',
    });
    const legacyProducer = await legacy.producer('old-users-service');
    try {
      const [early, late] = [8303, 8304];
      await legacy.publisher.publish([activityEvent(early), activityEvent(late)]);
      const counted = async (user: number) =>
        (
          (
            await call('GET', `${legacy.api}/users/${user}/activity-count`, {
              token: await tokens.admin(),
            })
          ).body as { count: number }
        ).count;
      await eventually(
        async () =>
          (await counted(early)) === 1 && (await counted(late)) === 1 ? true : undefined,
        20_000,
      );
      // Offsets 0 and 1 of partition 0: the first predates signing, the second does not.
      for (const user of [early, late]) {
        await legacyProducer.send({
          topic: legacy.usersTopic,
          acks: -1,
          messages: [
            {
              partition: 0,
              key: String(user),
              value: JSON.stringify(usersEvent('user.deleted', user, { userId: user })),
            },
          ],
        });
      }
      await eventually(async () => ((await counted(early)) === 0 ? true : undefined), 20_000);
      await legacy.settled();
      expect(await counted(late)).toBe(1);
    } finally {
      await legacy.stop();
    }
  });
});
