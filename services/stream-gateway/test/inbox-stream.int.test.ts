import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ProjectionKeys, type StreamMessage } from '@suite/contracts';
import { call, eventually, signedUsersRecord } from '@suite/testkit';
import { activityEvent, openStream, startStack, token, type OpenStream } from './helpers.js';

let stack: Awaited<ReturnType<typeof startStack>>;
const USER = 301;
const withToken = async (userId: number) => ({
  headers: { authorization: `Bearer ${await token(String(userId))}` },
});
const inboxUrl = (cursor?: string) =>
  `${stack.url(USER)}?channels=activity,inbox${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;

/** An activity of user 300 in workspace 3 that notifies USER. */
const notifying = () => activityEvent(300, undefined, { notify: { users: [USER] } });

const of = <T extends StreamMessage['type']>(s: OpenStream, type: T) =>
  s.messages.filter((m): m is Extract<StreamMessage, { type: T }> => m.type === type);
const waitFor = <T>(check: () => T | undefined) => eventually(async () => check(), 20_000, 10);
async function mark(action: string, body: unknown) {
  const res = await call(
    'POST',
    `${stack.activityUrl}/api/v1/users/${USER}/notifications/${action}`,
    { token: await token(String(USER)), body },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { unseen: number; unread: number; total: number };
}

beforeAll(async () => {
  stack = await startStack('inbox-stream', { INBOX_MARK_WAIT_MS: '10000' });
  const kafka = new Kafka({
    clientId: 'inbox-stream-test',
    brokers: stack.infra.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer();
  await producer.connect();
  const access = {
    specversion: '1.0',
    id: `a-${Date.now()}`,
    source: '/users-service',
    type: 'io.activitysuite.user.access-changed',
    time: new Date().toISOString(),
    subject: String(USER),
    datacontenttype: 'application/json',
    data: {
      userId: USER,
      version: 1,
      workspaces: [{ workspaceId: 3, name: 'Three', role: 'member' }],
    },
  };
  await producer.send({
    topic: `${stack.names.topicPrefix}users.events`,
    acks: -1,
    messages: [signedUsersRecord(access)],
  });
  await producer.disconnect();
}, 120_000);
afterAll(() => stack.stop());

describe('the inbox channel of the stream', () => {
  it('when devices open the inbox channel, then each starts with the state and gets every notification, marks reach the others, and a resumed device replays what it missed', async () => {
    // Access is in the replica before anything is routed to USER.
    const redis = new Redis(stack.infra.redisUrl);
    await eventually(
      async () =>
        (await redis.hexists(ProjectionKeys.access(stack.names.keyPrefix, USER), '3')) === 1
          ? true
          : undefined,
      30_000,
      50,
    );
    redis.disconnect();
    const a = await openStream(inboxUrl(), await withToken(USER));
    const b = await openStream(inboxUrl(), await withToken(USER));
    for (const s of [a, b]) {
      await waitFor(() => of(s, 'ready')[0]);
      const [state] = of(s, 'inbox.state');
      expect(state).toMatchObject({
        channel: 'inbox',
        counts: { unseen: expect.any(Number), unread: expect.any(Number) },
      });
      // The state comes before ready, and every message's cursor carries both channels.
      expect(s.messages.findIndex((m) => m.type === 'inbox.state')).toBeLessThan(
        s.messages.findIndex((m) => m.type === 'ready'),
      );
      expect(of(s, 'ready')[0]!.cursor).toContain('~');
    }
    const before = of(b, 'inbox.state')[0]!.counts;

    await stack.publisher.publish(notifying());
    for (const s of [a, b]) {
      const note = await waitFor(() => of(s, 'notification')[0]);
      expect(note).toMatchObject({
        channel: 'inbox',
        notification: { seen: false, read: false, archived: false, activity: { userId: 300 } },
        counts: { unread: before.unread + 1, total: before.total + 1 },
      });
    }

    // Device A reads everything: device B hears of it.
    const afterRead = await mark('read', { all: true });
    expect(afterRead).toMatchObject({ unread: 0 });
    const told = await waitFor(() => of(b, 'inbox.state').find((m) => m.mark?.action === 'read'));
    expect(told.counts).toEqual({ unseen: 0, unread: 0, total: before.total + 1 });

    // An activity of the user's own on the same stream names its channel.
    await stack.publisher.publish(activityEvent(USER));
    const own = await waitFor(() => of(a, 'activity')[0]);
    expect(own).toMatchObject({ channel: 'activity' });
    expect(own.cursor).toContain('~');
    await waitFor(() => of(b, 'activity')[0]);

    // B leaves; meanwhile a notification arrives and A opens the bell.
    const resumeAt = b.messages.at(-1)!;
    expect('cursor' in resumeAt && resumeAt.cursor).toBeTruthy();
    b.ws.close();
    await b.closed;
    await stack.publisher.publish(notifying());
    await waitFor(() => (of(a, 'notification').length === 2 ? true : undefined));
    await mark('seen', {});
    await waitFor(() => of(a, 'inbox.state').find((m) => m.mark?.action === 'seen'));

    const resumed = await openStream(
      inboxUrl((resumeAt as { cursor: string }).cursor),
      await withToken(USER),
    );
    await waitFor(() => of(resumed, 'ready')[0]);
    const inbox = resumed.messages.filter(
      (m) => m.type === 'notification' || m.type === 'inbox.state',
    );
    expect(
      inbox.map((m) =>
        m.type === 'inbox.state' ? `state:${m.mark?.action ?? 'now'}` : 'notification',
      ),
    ).toEqual(['state:now', 'notification', 'state:seen']);
    // The one cursor resumed the activity channel too: nothing it had seen comes again.
    expect(resumed.activities()).toEqual([]);
    expect(of(resumed, 'inbox.state').at(-1)!.counts).toEqual({
      unseen: 0,
      unread: 1,
      total: before.total + 2,
    });
    for (const s of [a, resumed]) s.ws.close();
  }, 120_000);

  it('when an SSE client reconnects with Last-Event-ID alone, then the inbox channel resumes from it', async () => {
    const controller = new AbortController();
    const res = await fetch(`${stack.http()}/api/v1/users/${USER}/activity-stream?channels=inbox`, {
      headers: {
        accept: 'text/event-stream',
        authorization: `Bearer ${await token(String(USER))}`,
      },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: ready'))
      text += new TextDecoder().decode((await reader.read()).value);
    const id = /id: (\S+)\n/.exec(text)![1]!;
    expect(id).toContain('~');
    controller.abort();
    await stack.publisher.publish(notifying());
    await eventually(async () => {
      const r = await call('GET', `${stack.activityUrl}/api/v1/users/${USER}/notification-counts`, {
        token: await token(String(USER)),
      });
      return (r.body as { unread: number }).unread === 2 ? true : undefined;
    }, 20_000);
    const again = new AbortController();
    const res2 = await fetch(
      `${stack.http()}/api/v1/users/${USER}/activity-stream?channels=inbox`,
      {
        headers: {
          accept: 'text/event-stream',
          'last-event-id': id,
          authorization: `Bearer ${await token(String(USER))}`,
        },
        signal: again.signal,
      },
    );
    const reader2 = res2.body!.getReader();
    let text2 = '';
    while (!text2.includes('event: ready'))
      text2 += new TextDecoder().decode((await reader2.read()).value);
    again.abort();
    const events = [...text2.matchAll(/event: (\S+)/g)].map((m) => m[1]);
    expect(events).toEqual(['inbox.state', 'notification', 'ready']);
  }, 60_000);
});
