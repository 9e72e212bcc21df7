import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  pollUntil,
  DEFAULT_EVENT_TIME_WINDOW,
  eventTimeProblem,
  FEED_CURSOR,
  STREAM_CURSOR,
  decodeFeedCursor,
  ActivityEvent,
  ActivityLimits,
  ActivityPage,
  CloudEventLimits,
  fromBinaryMode,
  toActivity,
  CreateUserBody,
  activityPageJson,
  ErrorBody,
  GENERATION,
  ProjectionKeys,
  UsersEvent,
  decodeLiveMessage,
  decodeStreamCursor,
  encodeFeedCursor,
  encodeLiveBatch,
  encodeStreamCursor,
  feedKeyText,
  liveChannelUser,
  newGeneration,
  toErrorDetails,
} from './index.js';

const valid = {
  specversion: '1.0',
  id: 'evt-1',
  source: '/services/docs',
  type: 'io.activitysuite.activity.recorded',
  time: '2026-11-26T10:00:00Z',
  subject: '42',
  data: { actorId: 42, verb: 'commented', object: { type: 'document', id: '9' }, workspaceId: 7 },
};

describe('activity envelope', () => {
  it('when a CloudEvent is well formed, then it is accepted', () => {
    expect(ActivityEvent.parse(valid).data.verb).toBe('commented');
  });

  it('when an envelope is malformed, then it is rejected with field-level details', () => {
    const result = ActivityEvent.safeParse({
      ...valid,
      specversion: '0.3',
      time: 'yesterday',
      data: { ...valid.data, workspaceId: -1 },
      extra: { not: 'a scalar' },
    });
    expect(result.success).toBe(false);
    const paths = toErrorDetails(result.error!).map((d) => d.path);
    expect(paths).toEqual(
      expect.arrayContaining(['specversion', 'time', 'data.workspaceId', 'extra']),
    );
  });

  it('when an event has well-formed extension attributes (partitionkey, tracestate), then they are ignored while data stays strict', () => {
    const extended = {
      ...valid,
      partitionkey: '42',
      tracestate: 'vendor=1',
      sequence: 7,
      flag: true,
    };
    expect(ActivityEvent.safeParse(extended).success).toBe(true);
    expect(toActivity(ActivityEvent.parse(extended))).toEqual(
      toActivity(ActivityEvent.parse(valid)),
    );
    for (const bad of [
      { Upper: 'x' },
      { under_score: 'x' },
      { data_base64: 'eA==' },
      { ['a'.repeat(21)]: 'x' },
      { big: 'x'.repeat(257) },
      { obj: {} },
    ]) {
      expect(
        ActivityEvent.safeParse({ ...valid, ...bad }).success,
        JSON.stringify(bad).slice(0, 40),
      ).toBe(false);
    }
    const many = Object.fromEntries(
      Array.from({ length: CloudEventLimits.extensionsMax + 10 }, (_, i) => [`x${i}`, 'v']),
    );
    expect(ActivityEvent.safeParse({ ...valid, ...many }).success).toBe(false);
    expect(ActivityEvent.safeParse({ ...valid, data: { ...valid.data, extra: 1 } }).success).toBe(
      false,
    );
  });

  it('when an event comes in binary mode (attributes as headers, data as the body), then it reads as the structured one', () => {
    const { data, ...attributes } = valid;
    const headers = Object.fromEntries(
      Object.entries(attributes).map(([k, v]) => [`CE-${k.toUpperCase()}`, String(v)]),
    );
    expect(
      ActivityEvent.parse(
        fromBinaryMode(
          { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
          'ce-',
          data,
        ),
      ),
    ).toEqual({ ...valid, datacontenttype: 'application/json' });
    expect(
      ActivityEvent.safeParse(
        fromBinaryMode({ ...headers, 'content-type': 'text/plain' }, 'ce-', data),
      ).success,
    ).toBe(false);
    // Without a specversion header it is not binary mode; the other prefix is not read.
    expect(fromBinaryMode({ 'ce-id': 'x' }, 'ce-', data)).toBeUndefined();
    expect(fromBinaryMode(headers, 'ce_', data)).toBeUndefined();
  });

  it('when metadata is nested deeper than its limit, then it is refused without overflowing the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(
      ActivityEvent.safeParse({ ...valid, data: { ...valid.data, metadata: { deep } } }).success,
    ).toBe(false);
    let ok: unknown = 1;
    for (let i = 0; i < ActivityLimits.metadataMaxDepth - 1; i++) ok = [ok];
    expect(
      ActivityEvent.safeParse({ ...valid, data: { ...valid.data, metadata: { ok } } }).success,
    ).toBe(true);
    expect(
      ActivityEvent.safeParse({ ...valid, data: { ...valid.data, metadata: { ok: [ok] } } })
        .success,
    ).toBe(false);
  });

  it('when metadata is over the size limit, then it is rejected', () => {
    const metadata = { blob: 'x'.repeat(ActivityLimits.metadataMaxBytes) };
    const result = ActivityEvent.safeParse({ ...valid, data: { ...valid.data, metadata } });
    expect(result.success).toBe(false);
    expect(toErrorDetails(result.error!)[0]?.path).toBe('data.metadata');
  });

  it('when the subject is not a user id, then the event is rejected', () => {
    expect(ActivityEvent.safeParse({ ...valid, subject: 'alice' }).success).toBe(false);
  });
});

describe('DTOs', () => {
  it('when a user creation has an unknown field or a wrong type, then it is rejected', () => {
    const result = CreateUserBody.safeParse({
      username: 'ann',
      email: 'ann@example.com',
      firstName: 'Ann',
      lastName: 'Lee',
      isAdmin: true,
      isActive: 'yes',
    });
    expect(result.success).toBe(false);
    const details = toErrorDetails(result.error!, 'body');
    expect(details.map((d) => d.path)).toEqual(expect.arrayContaining(['body.isActive', 'body']));
  });

  it('when a users event is parsed, then its type picks its schema', () => {
    const event = UsersEvent.parse({
      ...valid,
      type: 'io.activitysuite.user.deleted',
      data: { userId: 42 },
    });
    expect(event.type).toBe('io.activitysuite.user.deleted');
  });

  it('when an error body has a code outside the list, then it is rejected', () => {
    expect(
      ErrorBody.safeParse({ error: { code: 'teapot', message: 'x' }, requestId: 'r' }).success,
    ).toBe(false);
  });
});

describe('projection layout', () => {
  it('when a stream cursor is encoded, then it round-trips; a feed cursor of an earlier layout is stale, and anything else is not ours', () => {
    expect(decodeStreamCursor(encodeStreamCursor('mfx2k9a01', 42))).toEqual({
      epoch: 'mfx2k9a01',
      position: 42,
    });
    expect(
      decodeStreamCursor(
        encodeFeedCursor(feedKeyText({ timeMs: Date.UTC(2026, 0, 1), position: 17 })),
      ),
    ).toBe('stale');
    for (const bad of [
      '',
      'e1.0',
      'e1.-1',
      'E1.1',
      'e1.01',
      'e1.1.2',
      `e1.${'9'.repeat(16)}`,
      `${'a'.repeat(17)}.1`,
      'not a cursor!',
      'x',
    ])
      expect(decodeStreamCursor(bad), bad).toBeUndefined();
    // Base64url text could be a feed cursor of layout 2: answered with a reset, never refused.
    expect(decodeStreamCursor('e1')).toBe('stale');
  });

  it('when a cursor matches its documented pattern, then it is accepted, and nothing else is', () => {
    const samples = [
      '',
      'x',
      '.0',
      '.1',
      '..0',
      'e1',
      'e1.0',
      'e1.1',
      'E1.1',
      'mfx2k9a01.42',
      'a b',
      'abc=',
      '-_',
      `${'a'.repeat(400)}`,
      `${'a'.repeat(401)}`,
      `${'a'.repeat(16)}.999999999999999`,
      'a.1000000000000000',
    ];
    for (const text of samples) {
      expect(decodeStreamCursor(text) !== undefined, text).toBe(STREAM_CURSOR.test(text));
      expect(decodeFeedCursor(text) !== undefined, text).toBe(FEED_CURSOR.test(text));
    }
  });

  it('when generations are made, then they are short, distinct and valid in a cursor', () => {
    const now = Date.now();
    const seen = new Set(Array.from({ length: 200 }, (_, i) => newGeneration(now + i)));
    expect(seen.size).toBe(200);
    for (const g of seen) expect(GENERATION.test(g)).toBe(true);
  });

  it('when a live batch is decoded, then its items have consecutive positions and a deletion notice is recognised', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const items = [
      { json: JSON.stringify({ id: 'a', note: '\u001e' }) },
      { json: '{"id":"b"}', traceparent: tp },
    ];
    expect(decodeLiveMessage(encodeLiveBatch('g1', 7, items))).toEqual({
      kind: 'batch',
      epoch: 'g1',
      malformed: 0,
      items: [
        { position: 7, json: items[0]!.json },
        { position: 8, json: '{"id":"b"}', traceparent: tp },
      ],
    });
    expect(decodeLiveMessage('{"type":"deleted","userId":3}')).toEqual({
      kind: 'deleted',
      text: '{"type":"deleted","userId":3}',
    });
    expect(decodeLiveMessage('{"type":"other"}')).toEqual({ kind: 'malformed' });
  });

  it("when one user's keys are named, then they share one hash tag and the live channel names its user", () => {
    const tag = (key: string) => /\{[^}]*\}/.exec(key)?.[0];
    const keys = [
      ProjectionKeys.feedBlock('p:', 42, 3),
      ProjectionKeys.log('p:', 42),
      ProjectionKeys.seenBucket('p:', 42, 15),
      ProjectionKeys.stats('p:', 42),
      ProjectionKeys.access('p:', 42),
      ProjectionKeys.accessVersion('p:', 42),
      ProjectionKeys.liveChannel('p:', 42),
    ];
    expect(new Set(keys.map(tag))).toEqual(new Set(['{u:42}']));
    expect(liveChannelUser(ProjectionKeys.liveChannel('p:', 42))).toBe(42);
    expect(liveChannelUser('p:live:{u:x}')).toBeUndefined();
  });
});

describe('activity page text', () => {
  it('when an activity page is built from stored activity JSON, then it is an ActivityPage with next as an absolute URL or null', () => {
    const activity = {
      id: 'e"1',
      userId: 4,
      time: '2026-01-01T00:00:00.000Z',
      source: '/s',
      actorId: 4,
      verb: 'v',
      object: { type: 't', id: '1' },
      workspaceId: 7,
      metadata: { note: 'a\u2028b' },
    };
    for (const next of [null, 'http://127.0.0.1:8080/api/v1/users/4/activities?cursor=x&limit=2']) {
      const stored = Buffer.from(`${JSON.stringify(activity)},${JSON.stringify(activity)}`);
      expect(ActivityPage.parse(JSON.parse(activityPageJson(stored, next).toString()))).toEqual({
        results: [activity, activity],
        next,
      });
    }
    expect(JSON.parse(activityPageJson(Buffer.alloc(0), null).toString())).toEqual({
      results: [],
      next: null,
    });
  });
});

describe('the event time window', () => {
  it('when an event time is checked, then exactly the times from maxAge before to maxAhead after reception pass, at millisecond edges', () => {
    const window = DEFAULT_EVENT_TIME_WINDOW;
    const received = Date.parse('2026-11-30T12:00:00Z');
    // As the services call it: the parsed time of an event's ISO `time`.
    const at = (ms: number) => Date.parse(new Date(ms).toISOString());
    expect(eventTimeProblem(at(received), received, window)).toBeUndefined();
    expect(eventTimeProblem(at(received - window.maxAgeMs), received, window)).toBeUndefined();
    expect(eventTimeProblem(at(received - window.maxAgeMs - 1), received, window)).toBe(
      'more than 30 days before the event was received',
    );
    expect(eventTimeProblem(at(received + window.maxAheadMs), received, window)).toBeUndefined();
    expect(eventTimeProblem(at(received + window.maxAheadMs + 1), received, window)).toBe(
      'more than 5 minutes after the event was received',
    );
    expect(
      eventTimeProblem(Date.parse('2026-11-30T13:00:00+01:00'), received, window),
    ).toBeUndefined();
    expect(
      eventTimeProblem(at(received), received, { maxAgeMs: 90_000, maxAheadMs: 1500 }),
    ).toBeUndefined();
    expect(
      eventTimeProblem(at(received + 1501), received, { maxAgeMs: 90_000, maxAheadMs: 1500 }),
    ).toBe('more than 1.5 seconds after the event was received');
  });
});

describe('backoff and polling', () => {
  it('when backing off, then the delay doubles up to the cap and jitter stays below it', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, 100, 2000))).toEqual([
      100, 200, 400, 800, 1600, 2000,
    ]);
    for (let i = 0; i < 100; i++) expect(backoffMs(3, 100, 2000, true)).toBeLessThan(400);
  });

  it('when polling, then it waits until a value comes, or names what did not happen with the last error', async () => {
    let calls = 0;
    expect(
      await pollUntil('never', async () => (++calls === 3 ? 'done' : undefined), 1000, 1),
    ).toBe('done');
    await expect(
      pollUntil(
        'the thing did not happen',
        async () => {
          throw new Error('still broken');
        },
        30,
        5,
      ),
    ).rejects.toThrow(/^the thing did not happen within 30 ms: still broken$/);
  });
});
