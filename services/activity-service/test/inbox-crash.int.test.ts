import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { ProjectionKeys, StatsField } from '@suite/contracts';
import { freePort } from '@suite/local-infra';
import {
  call,
  createTestTopics,
  eventually,
  isolate,
  signedUsersRecord,
  startChildService,
  testInfra,
  testServiceEnv,
  topicOffsets,
  type ChildService,
} from '@suite/testkit';
import { accessGranted, activityEvent, tokens, usersEvent } from './helpers.js';
import { inboxOracle, inboxRecords, storedInbox } from './inbox-oracle.js';

const serviceDir = `${import.meta.dirname}/..`;
const RECIPIENTS = [11, 12, 13, 14, 15];
const live: ChildService[] = [];
afterAll(async () => {
  for (const c of live) await c.kill('SIGKILL');
});

describe('the inbox when the service is SIGKILLed', () => {
  it('when the service is SIGKILLed at random, then each named recipient is routed exactly once and every inbox equals the oracle over its log', async () => {
    const infra = testInfra();
    const names = isolate('inboxcrash');
    await createTestTopics(infra, names.topicPrefix, {
      'activity.events': 3,
      'users.events': 2,
      'inbox.events': 3,
    });
    const env = {
      ...testServiceEnv(infra, names),
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      LOG_LEVEL: 'warn',
      PUBLISH_LIVE: 'false',
      INBOX_MARK_WAIT_MS: '0',
    };
    const kafka = new Kafka({
      clientId: 'inbox-crash',
      brokers: infra.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    await producer.send({
      topic: `${names.topicPrefix}users.events`,
      acks: -1,
      messages: accessGranted(RECIPIENTS, [7]),
    });
    const redis = new Redis(infra.redisUrl);
    const start = async () => {
      const child = await startChildService(serviceDir, 'src/main.ts', env, await freePort());
      live.push(child);
      await eventually(
        async () => ((await fetch(`${child.url}/readyz`)).ok ? true : undefined),
        60_000,
        100,
      );
      return child;
    };

    // 1,200 activities by user 10, each naming one to three recipients; a tenth published twice.
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const events = Array.from({ length: 1200 }, () => {
      const e = activityEvent(10);
      const named = RECIPIENTS.filter(() => random() < 0.4);
      return { ...e, data: { ...e.data, notify: { users: named.length > 0 ? named : [11] } } };
    });
    const pairs = new Set(events.flatMap((e) => e.data.notify.users.map((u) => `${e.id}:${u}`)));
    const produce = async (from: number, to: number) => {
      for (let i = from; i < to; i += 50) {
        const batch = events.slice(i, Math.min(to, i + 50));
        const again = batch.filter(() => random() < 0.1);
        await producer.send({
          topic: `${names.topicPrefix}activity.events`,
          acks: -1,
          messages: [...batch, ...again].map((e) => ({ key: e.subject, value: JSON.stringify(e) })),
        });
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    /** Marks through whichever process runs now; a call that meets a killed process is simply lost (it was not acknowledged). */
    const markSome = async (child: ChildService) => {
      for (const u of RECIPIENTS) {
        const page = await call('GET', `${child.url}/api/v1/users/${u}/notifications?limit=5`, {
          token: await tokens.user(u),
        }).catch(() => undefined);
        const ids = ((page?.body as { results?: { id: string }[] })?.results ?? []).map(
          (n) => n.id,
        );
        const action = ['read', 'archive', 'unread'][u % 3]!;
        await call(
          'POST',
          `${child.url}/api/v1/users/${u}/notifications/${ids.length > 1 ? action : 'seen'}`,
          { token: await tokens.user(u), body: ids.length > 1 ? { ids: ids.slice(0, 2) } : {} },
        ).catch(() => undefined);
      }
    };

    let child = await start();
    for (let round = 0; round < 3; round++) {
      const producing = produce(round * 400, (round + 1) * 400);
      await new Promise((r) => setTimeout(r, 300 + random() * 400));
      await markSome(child);
      // The router and the inbox consumer are in the middle of it: kill them.
      expect(await child.kill('SIGKILL')).toBeNull();
      await producing;
      child = await start();
    }
    await markSome(child);
    await producer.disconnect();

    // Every named recipient's delivery is in inbox.events, once per (activity, recipient).
    const delivered = new Map<number, Set<string>>();
    await eventually(
      async () => {
        const byUser = await Promise.all(
          RECIPIENTS.map((u) =>
            inboxRecords(infra.kafkaBrokers, `${names.topicPrefix}inbox.events`, String(u)),
          ),
        );
        let total = 0;
        byUser.forEach((records, i) => {
          const ids = new Set(
            records.flatMap((r) =>
              'deliveryId' in r.event.data ? [r.event.data.activity.id] : [],
            ),
          );
          delivered.set(RECIPIENTS[i]!, ids);
          total += ids.size;
        });
        return total >= pairs.size ? true : undefined;
      },
      120_000,
      1000,
    );
    for (const [u, ids] of delivered)
      expect([...ids].sort()).toEqual(
        events
          .filter((e) => e.data.notify.users.includes(u))
          .map((e) => e.id)
          .sort(),
      );

    // Applied: the inbox partitions' checkpoints reach their ends (transaction markers included).
    const ends = await topicOffsets(infra.kafkaBrokers, `${names.topicPrefix}inbox.events`);
    await eventually(
      async () => {
        const stored = await redis.mget(
          ends.map((p) =>
            ProjectionKeys.offset(names.keyPrefix, `${names.topicPrefix}inbox.events`, p.partition),
          ),
        );
        return ends.every((p, i) => BigInt(stored[i] ?? 0) >= p.high) ? true : undefined;
      },
      60_000,
      200,
    );
    for (const u of RECIPIENTS) {
      const records = await inboxRecords(
        infra.kafkaBrokers,
        `${names.topicPrefix}inbox.events`,
        String(u),
      );
      const expected = inboxOracle(records, { maxItems: 1000, maxAgeMs: 90 * 86_400_000 });
      expect(await storedInbox(redis, names.keyPrefix, u), `recipient ${u}`).toEqual(expected);
      expect(expected.items.length).toBe(delivered.get(u)!.size);
    }

    // A mark that is not applied within the wait answers 202: one for a deleted user never is.
    const again = kafka.producer();
    await again.connect();
    await again.send({
      topic: `${names.topicPrefix}users.events`,
      acks: -1,
      messages: [signedUsersRecord(usersEvent('user.deleted', 15, { userId: 15 }))],
    });
    await again.disconnect();
    await eventually(
      async () =>
        (await redis.hexists(ProjectionKeys.stats(names.keyPrefix, 15), StatsField.deleted)) === 1
          ? true
          : undefined,
      30_000,
      50,
    );
    const pending = await call('POST', `${child.url}/api/v1/users/15/notifications/seen`, {
      token: await tokens.admin(),
      body: {},
    });
    expect(pending).toMatchObject({ status: 202, body: { pending: true, ignored: [] } });
    await child.kill('SIGTERM');
    redis.disconnect();
  }, 300_000);
});
