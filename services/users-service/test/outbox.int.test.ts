import { afterAll, describe, expect, it } from 'vitest';
import { signDevToken } from '@suite/auth';
import { UsersEvent } from '@suite/contracts';
import { freePort } from '@suite/local-infra';
import {
  call,
  collectTopic,
  createTestTopics,
  eventually,
  isolate,
  startChildService,
  startDisposable,
  testInfra,
  TEST_ORIGIN_KEY,
  recordsWritten,
} from '@suite/testkit';
import { secret, startUsersService } from './helpers.js';

const infra = testInfra();
const serviceDir = `${import.meta.dirname}/..`;
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const userBody = (n: string) => ({
  username: n,
  email: `${n}@example.com`,
  firstName: 'O',
  lastName: 'B',
});
const parse = (records: { value: string }[]) =>
  records.map((r) => UsersEvent.parse(JSON.parse(r.value)));

/** The users-service's count of user documents whose events are not yet out (its outbox gauge). */
async function pendingUsers(serviceUrl: string): Promise<number> {
  const metrics = (await call('GET', `${serviceUrl}/metrics`)).body as string;
  return Number(
    /^outbox_pending_documents\{[^}]*collection="users"[^}]*\} (\d+)/m.exec(metrics)?.[1],
  );
}

/** Relay passes that failed (and will be retried). */
async function relayFailures(serviceUrl: string): Promise<number> {
  const metrics = (await call('GET', `${serviceUrl}/metrics`)).body as string;
  return Number(/^outbox_publish_failures_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
}

describe('outbox', () => {
  it('when the process is killed after the write and before the send, then the event is published exactly once after restart', async () => {
    const names = isolate('outbox-crash');
    await createTestTopics(infra, names.topicPrefix, { 'users.events': 3 });
    const env = {
      MONGO_URL: infra.mongoUrl,
      MONGO_DB: names.dbName,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      KAFKA_TOPIC_PREFIX: names.topicPrefix,
      JWT_SECRET: secret,
      USERS_EVENTS_SIGNING_KEY: TEST_ORIGIN_KEY,
      LOG_LEVEL: 'warn',
      // The relay never runs in this process: it dies with the write committed and nothing sent.
      OUTBOX_RELAY_ENABLED: 'false',
    };
    const child = await startChildService(serviceDir, 'src/main.ts', env, await freePort());
    const admin = await signDevToken(secret, { sub: '1', roles: ['admin'] });
    const created = await call('POST', `${child.url}/api/v1/users`, {
      token: admin,
      body: userBody('crashy'),
    });
    expect(created.status).toBe(201);
    expect(await child.kill('SIGKILL')).toBeNull();

    // Nothing was sent before the crash (and the killed process can send nothing after it).
    expect(await recordsWritten(infra.kafkaBrokers, `${names.topicPrefix}users.events`)).toBe(0);
    const events = await collectTopic(infra.kafkaBrokers, `${names.topicPrefix}users.events`);
    cleanups.push(events.stop);

    const restarted = await startUsersService('outbox-restart', {
      MONGO_DB: names.dbName,
      KAFKA_TOPIC_PREFIX: names.topicPrefix,
    });
    cleanups.push(() => restarted.service.stop());
    await eventually(async () => (events.records.length >= 1 ? true : undefined), 20_000);
    // Once the entry is gone from the outbox no sweep can send it again: then exactly one was written.
    const pending = () => pendingUsers(restarted.server.url);
    await eventually(async () => ((await pending()) === 0 ? true : undefined), 20_000);
    expect(await recordsWritten(infra.kafkaBrokers, `${names.topicPrefix}users.events`)).toBe(1);
    const published = parse(events.records);
    expect(published.map((e) => e.type)).toEqual(['io.activitysuite.user.created']);
    expect(published[0]!.subject).toBe(String((created.body as { id: number }).id));
  });

  it('when the broker is down, then the relay fails and keeps every event pending, and once it is back all are published, none lost', async () => {
    const kafka = await startDisposable('kafka');
    cleanups.push(() => kafka.destroy());
    const names = isolate('outbox-down');
    await createTestTopics({ ...infra, kafkaBrokers: [kafka.url] }, names.topicPrefix, {
      'users.events': 3,
    });
    const ctx = await startUsersService('outbox-down', {
      KAFKA_BROKERS: kafka.url,
      MONGO_DB: names.dbName,
      KAFKA_TOPIC_PREFIX: names.topicPrefix,
    });
    cleanups.push(() => ctx.service.stop());
    await kafka.stop();
    const admin = await signDevToken(secret, { sub: '1', roles: ['admin'] });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call('POST', `${ctx.api}/users`, {
        token: admin,
        body: userBody(`down${i}`),
      });
      expect(res.status).toBe(201);
      ids.push((res.body as { id: number }).id);
    }
    const pending = () => pendingUsers(ctx.server.url);
    // The relay has tried and failed (the failure counter moved), and all five are still pending.
    await eventually(
      async () => ((await relayFailures(ctx.server.url)) > 0 ? true : undefined),
      30_000,
    );
    expect(await pending()).toBe(5);
    await kafka.start();
    const events = await collectTopic([kafka.url], `${names.topicPrefix}users.events`);
    cleanups.push(events.stop);
    await eventually(
      async () =>
        new Set(parse(events.records).map((e) => e.subject)).size >= 5 ? true : undefined,
      60_000,
    );
    const subjects = new Set(
      parse(events.records)
        .filter((e) => e.type === 'io.activitysuite.user.created')
        .map((e) => e.subject),
    );
    expect([...subjects].sort()).toEqual(ids.map(String).sort());
    await eventually(async () => ((await pending()) === 0 ? true : undefined), 20_000);
  });
});
