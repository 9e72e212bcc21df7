import type { Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamCloseCodes } from '@suite/contracts';
import { eventually, redisModes, signedUsersRecord, testInfra } from '@suite/testkit';
import { activityEvent, openStream, refusedWith, startStack, token } from './helpers.js';

const withToken = async (userId: number, sub = String(userId)) => ({
  headers: { authorization: `Bearer ${await token(sub)}` },
});

// Every stream test on one Redis and on a Redis Cluster (sharded pub/sub, one slot per user).
describe.each(redisModes(testInfra()))('on %s Redis', (mode, infra) => {
  let stack: Awaited<ReturnType<typeof startStack>>;
  beforeAll(async () => {
    stack = await startStack(`stream-${mode}`, { FEED_MAX_ITEMS: '50' }, 1, infra);
  });
  afterAll(() => stack.stop());

  describe('handshake', () => {
    it('when a handshake is refused, then it is with an HTTP status, never 101: no token 401, bad token 401, another user 403, foreign origin 403, bad cursor 400', async () => {
      expect(await refusedWith(openStream(stack.url(1)))).toBe(401);
      expect(
        await refusedWith(
          openStream(stack.url(1), { headers: { authorization: 'Bearer garbage' } }),
        ),
      ).toBe(401);
      expect(await refusedWith(openStream(stack.url(1), await withToken(1, '2')))).toBe(403);
      expect(
        await refusedWith(
          openStream(stack.url(1), { ...(await withToken(1)), origin: 'http://evil.example' }),
        ),
      ).toBe(403);
      expect(
        await refusedWith(openStream(`${stack.url(1)}?cursor=nope!`, await withToken(1))),
      ).toBe(400);
      expect(await refusedWith(openStream(`${stack.url(1)}?foo=bar`, await withToken(1)))).toBe(
        400,
      );
    });

    it('when the token comes in the header, the access_token parameter or a bearer subprotocol, then it is accepted, and an admin may watch anyone', async () => {
      const t = await token('11');
      const viaQuery = await openStream(`${stack.url(11)}?access_token=${t}`, {
        origin: 'http://allowed.example',
      });
      const viaProtocol = await openStream(stack.url(11), {
        protocols: ['activity-stream.v1', `bearer.${t}`],
      });
      expect(viaProtocol.ws.protocol).toBe('activity-stream.v1');
      const admin = await openStream(stack.url(11), {
        headers: { authorization: `Bearer ${await token('1', { roles: ['admin'] })}` },
      });
      for (const s of [viaQuery, viaProtocol, admin]) s.ws.close();
    });

    it('when a user opens more streams than the cap, then the answer is 429', async () => {
      const opened = [];
      for (let i = 0; i < 10; i++)
        opened.push(await openStream(stack.url(12), await withToken(12)));
      expect(await refusedWith(openStream(stack.url(12), await withToken(12)))).toBe(429);
      for (const s of opened) s.ws.close();
    });
  });

  describe('delivery and resume', () => {
    it('when a client disconnects and resumes, then it gets live activities in order and what it missed exactly once, then live', async () => {
      const user = 21;
      const first = await openStream(stack.url(user), await withToken(user));
      await eventually(async () =>
        first.messages.some((m) => m.type === 'ready') ? true : undefined,
      );
      const batch1 = Array.from({ length: 5 }, () => activityEvent(user));
      await stack.publisher.publish(batch1);
      await eventually(async () => (first.activities().length === 5 ? true : undefined));
      expect(first.activities()).toEqual(batch1.map((e) => e.id));
      const cursor = first.messages.filter((m) => m.type === 'activity').at(-1)!;
      first.ws.close();
      await first.closed;

      const missed = Array.from({ length: 5 }, () => activityEvent(user));
      await stack.publisher.publish(missed);
      // Publish more while the resumed stream is replaying: they must appear once, after the replay.
      const during = Array.from({ length: 20 }, () => activityEvent(user));
      const resumed = openStream(
        `${stack.url(user)}?cursor=${cursor.type === 'activity' ? cursor.cursor : ''}`,
        await withToken(user),
      );
      const publishing = stack.publisher.publish(during);
      const second = await resumed;
      await publishing;
      const later = Array.from({ length: 3 }, () => activityEvent(user));
      await eventually(async () =>
        second.messages.some((m) => m.type === 'ready') ? true : undefined,
      );
      await stack.publisher.publish(later);
      const expected = [...missed, ...during, ...later].map((e) => e.id);
      // A marker published last arrives last: once it is here, anything repeated would have arrived before it.
      const marker = activityEvent(user);
      await stack.publisher.publish(marker);
      await eventually(
        async () => (second.activities().includes(marker.id) ? true : undefined),
        20_000,
      );
      expect(second.activities()).toEqual([...expected, marker.id]);
      second.ws.close();
    });

    it('when the cursor is older than the retained feed, then a reset comes first', async () => {
      const user = 22;
      const events = Array.from({ length: 60 }, () => activityEvent(user));
      const probe = await openStream(stack.url(user), await withToken(user));
      await stack.publisher.publish(events);
      await eventually(async () => (probe.activities().length === 60 ? true : undefined), 20_000);
      const firstCursor = probe.messages.find((m) => m.type === 'activity')!;
      probe.ws.close();
      const resumed = await openStream(
        `${stack.url(user)}?cursor=${firstCursor.type === 'activity' ? firstCursor.cursor : ''}`,
        await withToken(user),
      );
      await eventually(async () =>
        resumed.messages.some((m) => m.type === 'ready') ? true : undefined,
      );
      expect(resumed.messages[0]!.type).toBe('reset');
      expect(resumed.activities()).toEqual(events.slice(10).map((e) => e.id));
      resumed.ws.close();
    });

    it('when two gateway replicas share one Redis, then each delivers to its own clients', async () => {
      const two = await startStack('replicas', {}, 2, infra);
      try {
        const a = await openStream(two.url(31, 0), await withToken(31));
        const b = await openStream(two.url(31, 1), await withToken(31));
        const c = await openStream(two.url(32, 1), await withToken(32));
        const events = [activityEvent(31), activityEvent(32), activityEvent(31)];
        await two.publisher.publish(events);
        await eventually(async () =>
          a.activities().length === 2 && b.activities().length === 2 && c.activities().length === 1
            ? true
            : undefined,
        );
        expect(a.activities()).toEqual([events[0]!.id, events[2]!.id]);
        expect(b.activities()).toEqual(a.activities());
        expect(c.activities()).toEqual([events[1]!.id]);
        for (const s of [a, b, c]) s.ws.close();
      } finally {
        await two.stop();
      }
    });
  });

  describe('sharded pub/sub', () => {
    it('when PUBSUB_SHARDED is on for both services (SPUBLISH/SSUBSCRIBE), then live and deletion notices arrive', async () => {
      const sharded = await startStack('sharded', { PUBSUB_SHARDED: 'true' }, 1, infra);
      try {
        const s = await openStream(sharded.url(91), await withToken(91));
        const events = [activityEvent(91), activityEvent(91)];
        await sharded.publisher.publish(events);
        await eventually(async () => (s.activities().length === 2 ? true : undefined));
        expect(s.activities()).toEqual(events.map((e) => e.id));
        const producer = new Kafka({
          clientId: 'gw-sharded',
          brokers: sharded.infra.kafkaBrokers,
          logLevel: logLevel.NOTHING,
        }).producer();
        await producer.connect();
        const deleted = {
          specversion: '1.0',
          id: `del-91-${Date.now()}`,
          source: '/users-service',
          type: 'io.activitysuite.user.deleted',
          time: new Date().toISOString(),
          subject: '91',
          data: { userId: 91 },
        };
        await producer.send({
          topic: `${sharded.names.topicPrefix}users.events`,
          messages: [signedUsersRecord(deleted)],
        });
        await producer.disconnect();
        expect((await s.closed).code).toBe(StreamCloseCodes.userDeleted);
      } finally {
        await sharded.stop();
      }
    });
  });

  describe('closing streams', () => {
    it('when the token expires, then the stream closes with 4001', async () => {
      const s = await openStream(stack.url(41), {
        headers: { authorization: `Bearer ${await token('41', { ttlSeconds: 2 })}` },
      });
      expect((await s.closed).code).toBe(StreamCloseCodes.tokenExpired);
    });

    it('when the user is deleted, then the stream closes with 4004', async () => {
      const s = await openStream(stack.url(42), await withToken(42));
      const kafka = new Kafka({
        clientId: 'gw-test',
        brokers: stack.infra.kafkaBrokers,
        logLevel: logLevel.NOTHING,
      });
      const producer = kafka.producer();
      await producer.connect();
      const deleted = {
        specversion: '1.0',
        id: `del-42-${Date.now()}`,
        source: '/users-service',
        type: 'io.activitysuite.user.deleted',
        time: new Date().toISOString(),
        subject: '42',
        data: { userId: 42 },
      };
      await producer.send({
        topic: `${stack.names.topicPrefix}users.events`,
        messages: [signedUsersRecord(deleted)],
      });
      await producer.disconnect();
      expect((await s.closed).code).toBe(StreamCloseCodes.userDeleted);
    });

    it('when a peer stops answering pings, then it is cut off within two heartbeat intervals, while a live peer stays, pinged once per interval', async () => {
      const beatStack = await startStack('heartbeat', { STREAM_HEARTBEAT_MS: '400' }, 1, infra);
      try {
        const live = await openStream(beatStack.url(52), await withToken(52));
        // A peer that never answers a ping, as when its network vanished.
        const dead = await openStream(beatStack.url(53), {
          ...(await withToken(53)),
          autoPong: false,
        });
        let pings = 0;
        live.ws.on('ping', () => (pings += 1));
        const started = Date.now();
        const { code } = await dead.closed;
        expect(code).toBe(1006);
        expect(Date.now() - started).toBeLessThan(2 * 400 + 400);
        // The live peer keeps being pinged, one per 400 ms, and stays open.
        await eventually(async () => (pings >= 3 ? true : undefined), 3000, 20);
        expect(live.ws.readyState).toBe(live.ws.OPEN);
        expect(pings).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 400) + 1);
        live.ws.close();
      } finally {
        await beatStack.stop();
      }
    });

    it('when a client never reads, then it is cut off at the high-water mark while a normal client of the same user keeps receiving', async () => {
      const slowStack = await startStack(
        'slow',
        { STREAM_HIGH_WATER_MARK_BYTES: '65536' },
        1,
        infra,
      );
      try {
        const user = 51;
        const normal = await openStream(slowStack.url(user), await withToken(user));
        const slow = await openStream(slowStack.url(user), await withToken(user));
        // Stop reading: the kernel buffers fill, then the gateway's own queue passes the mark.
        (slow.ws as unknown as { _socket: Socket })._socket.pause();
        // Enough bytes (about 16 MB) to fill loopback's kernel buffers and then the gateway's queue.
        const events = Array.from({ length: 4000 }, () =>
          activityEvent(user, undefined, { metadata: { note: 'x'.repeat(4000) } }),
        );
        for (let i = 0; i < events.length; i += 200)
          await slowStack.publisher.publish(events.slice(i, i + 200));
        await eventually(async () => {
          const metrics = await (await fetch(`${slowStack.http()}/metrics`)).text();
          return /stream_slow_clients_closed_total\{transport="websocket"[^}]*\} 1/.test(metrics)
            ? true
            : undefined;
        }, 30_000);
        await eventually(
          async () => (normal.activities().length === events.length ? true : undefined),
          60_000,
        );
        expect(normal.activities()).toEqual(events.map((e) => e.id));
        normal.ws.close();
      } finally {
        await slowStack.stop();
      }
    });

    it('when the gateway shuts down, then readiness turns false first and every socket gets 1001', async () => {
      const own = await startStack('shutdown', {}, 1, infra);
      const s = await openStream(own.url(61), await withToken(61));
      const stopping = own.replicas[0]!.service.stop();
      const ready = await fetch(`${own.http()}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { status: string }).status).toBe('draining');
      expect((await s.closed).code).toBe(StreamCloseCodes.goingAway);
      await stopping;
      own.replicas.length = 0;
      await stopping;
    });
  });
});
