import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@suite/testkit';
import { activityEvent, openStream, startStack, token } from './helpers.js';

let stack: Awaited<ReturnType<typeof startStack>>;
beforeAll(async () => {
  stack = await startStack('sse');
});
afterAll(() => stack.stop());

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** A minimal SSE reader over fetch: parses events until aborted. */
async function readSse(url: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  const done = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = {};
          for (const line of block.split('\n')) {
            const [field, ...rest] = line.split(': ');
            if (field === 'id' || field === 'event' || field === 'data')
              event[field] = rest.join(': ');
          }
          if (event.event) events.push(event);
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    res,
    events,
    activities: () =>
      events
        .filter((e) => e.event === 'activity')
        .map((e) => (JSON.parse(e.data!) as { activity: { id: string } }).activity.id),
    stop: () => (controller.abort(), done),
  };
}

describe('SSE', () => {
  it("when a client streams over SSE, then it gets the WebSocket's sequence with the cursor as the event id, and resumes with Last-Event-ID", async () => {
    const user = 71;
    const auth = { authorization: `Bearer ${await token(String(user))}` };
    const sse = await readSse(`${stack.http()}/api/v1/users/${user}/activity-stream`, auth);
    expect(sse.res.status).toBe(200);
    expect(sse.res.headers.get('content-type')).toContain('text/event-stream');
    const ws = await openStream(stack.url(user), { headers: auth });
    await eventually(async () =>
      sse.events.some((e) => e.event === 'ready') && ws.messages.some((m) => m.type === 'ready')
        ? true
        : undefined,
    );
    const first = Array.from({ length: 4 }, () => activityEvent(user));
    await stack.publisher.publish(first);
    await eventually(async () =>
      sse.activities().length === 4 && ws.activities().length === 4 ? true : undefined,
    );
    expect(sse.activities()).toEqual(ws.activities());
    const wsCursors = ws.messages.flatMap((m) => (m.type === 'activity' ? [m.cursor] : []));
    expect(sse.events.filter((e) => e.event === 'activity').map((e) => e.id)).toEqual(wsCursors);
    const lastId = sse.events.filter((e) => e.event === 'activity').at(-1)!.id!;
    await sse.stop();

    const missed = Array.from({ length: 3 }, () => activityEvent(user));
    await stack.publisher.publish(missed);
    await eventually(async () => (ws.activities().length === 7 ? true : undefined));
    const resumed = await readSse(`${stack.http()}/api/v1/users/${user}/activity-stream`, {
      ...auth,
      'last-event-id': lastId,
    });
    await eventually(async () =>
      resumed.events.some((e) => e.event === 'ready') ? true : undefined,
    );
    expect(resumed.activities()).toEqual(missed.map((e) => e.id));
    await resumed.stop();
    ws.ws.close();
  });

  it('when an SSE client has no token, then the answer is 401, and access_token in the query is accepted (EventSource cannot set headers)', async () => {
    const anonymous = await fetch(`${stack.http()}/api/v1/users/72/activity-stream`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(anonymous.status).toBe(401);
    const viaQuery = await readSse(
      `${stack.http()}/api/v1/users/72/activity-stream?access_token=${await token('72')}`,
      {},
    );
    expect(viaQuery.res.status).toBe(200);
    await viaQuery.stop();
    const plain = await fetch(`${stack.http()}/api/v1/users/72/activity-stream`, {
      headers: { authorization: `Bearer ${await token('72')}` },
    });
    expect(plain.status).toBe(400);
  });

  it('when an SSE path is malformed, then the answer is 400 in the error shape (it was 500 without a token), and a method it lacks 405', async () => {
    for (const auth of [{}, { authorization: `Bearer ${await token('72')}` }]) {
      const res = await fetch(`${stack.http()}/api/v1/users/%E0/activity-stream`, {
        headers: { accept: 'text/event-stream', ...auth },
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    }
    const post = await fetch(`${stack.http()}/api/v1/users/72/activity-stream`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });
});
