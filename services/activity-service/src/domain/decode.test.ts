import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ActivityEvent,
  InboxEvent,
  decodeFeedCursor,
  encodeFeedCursor,
  feedKeyText,
  feedMemberText,
  logEntry,
  logEntryJson,
  parseFeedKey,
  splitLogEntry,
} from '@suite/contracts';
import { dedupId } from '../data-access/activity.transaction.js';
import { decodeActivity, toWrite, validateActivity, validateInboxEvent } from './decode.js';

const event = {
  specversion: '1.0',
  id: 'e-1',
  source: '/t',
  type: 'io.activitysuite.activity.recorded',
  time: '2026-01-02T03:04:05.006Z',
  subject: '42',
  data: { actorId: 42, verb: 'commented', object: { type: 'doc', id: '9' }, workspaceId: 7 },
};

/** Values that sit on and around every constraint of the contract, to mutate a valid event with. */
const edgeValues: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 53,
  2 ** 53 - 1,
  '',
  ' ',
  '1.0',
  '0',
  '42',
  '042',
  'x'.repeat(64),
  'x'.repeat(65),
  'x'.repeat(128),
  'x'.repeat(129),
  'a\nb',
  'ü'.repeat(64),
  '😀'.repeat(40),
  '😀'.repeat(65),
  '2026-01-02T03:04:05Z',
  '2026-02-30T00:00:00Z',
  '2026-01-02T03:04:05+01:00',
  '2026-01-02 03:04:05Z',
  'io.activitysuite.activity.recorded',
  'application/json',
  [],
  {},
  { type: 'doc', id: '1' },
  { type: 'a b', id: '1' },
  { blob: 'x'.repeat(5000) },
  { nested: { deep: [1, 2, 3] } },
];
const edgy = fc.oneof(
  fc.constantFrom(...edgeValues),
  fc.string({ maxLength: 140 }),
  fc.integer(),
  fc.jsonValue({ maxDepth: 2 }),
);
const paths = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'traceparent',
  'extra',
  'partitionkey',
  'tracestate',
  'Upper',
  'data_base64',
  'a23456789012345678901',
  'data',
  'data.actorId',
  'data.verb',
  'data.object',
  'data.object.type',
  'data.object.id',
  'data.object.extra',
  'data.workspaceId',
  'data.target',
  'data.target.id',
  'data.metadata',
  'data.extra',
];

function mutate(
  base: Record<string, unknown>,
  edits: [string, unknown | undefined][],
): Record<string, unknown> {
  const copy = structuredClone(base);
  for (const [path, value] of edits) {
    const keys = path.split('.');
    let at: Record<string, unknown> = copy;
    for (const k of keys.slice(0, -1)) {
      if (typeof at[k] !== 'object' || at[k] === null) at[k] = {};
      at = at[k] as Record<string, unknown>;
    }
    // A copy of the value: a later edit through it must not change the shared edge values (or
    // make the input cyclic when two edits place the same object).
    if (value === undefined) delete at[keys.at(-1)!];
    else at[keys.at(-1)!] = structuredClone(value);
  }
  return copy;
}

describe('decoding activity records', () => {
  it('when activity records are decoded, then valid events pass and each kind of dead letter is classified', () => {
    expect(decodeActivity(Buffer.from(JSON.stringify(event))).ok).toBe(true);
    expect(decodeActivity(Buffer.from('{nope'))).toMatchObject({
      ok: false,
      reason: 'malformed_json',
    });
    expect(decodeActivity(Buffer.from(JSON.stringify({ ...event, subject: 'x' })))).toMatchObject({
      ok: false,
      reason: 'schema_invalid',
      detail: expect.stringMatching(/^subject: /) as string,
    });
    expect(decodeActivity(Buffer.alloc(20_000, 32))).toMatchObject({
      ok: false,
      reason: 'oversized',
    });
    expect(decodeActivity(null)).toMatchObject({ ok: false, reason: 'empty' });
  });

  it('when a record is in binary content mode (ce_ headers, data as the value), then it reads as the structured event', () => {
    const { data, ...attributes } = event;
    const headers = {
      ...Object.fromEntries(Object.entries(attributes).map(([k, v]) => [`ce_${k}`, v])),
      'content-type': 'application/json',
      ce_partitionkey: '42',
    };
    const decoded = decodeActivity(Buffer.from(JSON.stringify(data)), headers);
    expect(decoded).toMatchObject({
      ok: true,
      event: { ...event, datacontenttype: 'application/json' },
    });
    expect(
      decodeActivity(Buffer.from(JSON.stringify(data)), { ...headers, ce_subject: 'x' }),
    ).toMatchObject({
      ok: false,
      reason: 'schema_invalid',
      detail: expect.stringMatching(/^subject/) as string,
    });
    expect(
      decodeActivity(Buffer.from(JSON.stringify(data)), {
        ...headers,
        'content-type': 'text/plain',
      }),
    ).toMatchObject({ ok: false, reason: 'schema_invalid' });
    // Without ce_specversion the value is read as a structured event (and data alone is not one).
    expect(decodeActivity(Buffer.from(JSON.stringify(data)), { ce_id: 'x' })).toMatchObject({
      ok: false,
      reason: 'schema_invalid',
    });
  });

  it('when any input is validated, valid or not (every single edit, then random ones), then the compiled validator agrees with the zod contract', () => {
    for (const path of paths) {
      for (const value of [...edgeValues, undefined]) {
        const input = mutate(event, [[path, value]]);
        expect(validateActivity(input).ok, `${path} = ${JSON.stringify(value)?.slice(0, 60)}`).toBe(
          ActivityEvent.safeParse(input).success,
        );
      }
    }
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...paths), fc.option(edgy, { nil: undefined })), {
          maxLength: 4,
        }),
        (edits) => {
          const input = mutate(event, edits);
          expect(validateActivity(input).ok, JSON.stringify(input).slice(0, 300)).toBe(
            ActivityEvent.safeParse(input).success,
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('when an event id holds control characters, then it is rejected (a newline ends the id inside a feed entry)', () => {
    expect(decodeActivity(Buffer.from(JSON.stringify({ ...event, id: 'a\nb' })))).toMatchObject({
      ok: false,
      reason: 'schema_invalid',
    });
    expect(decodeActivity(Buffer.from(JSON.stringify({ ...event, id: 'ünïcode ok' }))).ok).toBe(
      true,
    );
  });

  it('when metadata is over the size limit, which the JSON Schema cannot state, then the record is rejected', () => {
    const result = validateActivity({
      ...event,
      data: { ...event.data, metadata: { blob: 'x'.repeat(4090) } },
    });
    expect(result).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^data\.metadata: /) as string,
    });
  });
});

describe('feed cursors and writes', () => {
  it('when a feed cursor is made, then it round-trips its feed key; layout 4 cursors start after their time; other base64url text names no key', () => {
    const key = { timeMs: Date.parse(event.time), position: 317, seq: 400 };
    expect(feedKeyText(key)).toBe('1767323045006:317/400');
    expect(parseFeedKey(decodeFeedCursor(encodeFeedCursor(feedKeyText(key)))!)).toEqual(key);
    expect(parseFeedKey(feedKeyText({ ...key, inOrder: true }))).toEqual({ ...key, inOrder: true });
    expect(parseFeedKey('1767323045006:317')).toEqual({ timeMs: 1767323045006, position: 317 });
    expect(parseFeedKey('001767323045006:e-1')).toEqual({
      timeMs: 1767323045006,
      position: Number.MAX_SAFE_INTEGER,
    });
    // Block members compare as text in the order of their positions.
    const members = [1, 9, 10, 99, 100, 12345, 2 ** 53 - 1].map(feedMemberText);
    expect([...members].sort()).toEqual(members);
    expect(decodeFeedCursor('not a cursor!')).toBeUndefined();
    // Any base64url text is accepted; one that names no feed key starts nowhere.
    expect(decodeFeedCursor(Buffer.from('garbage').toString('base64url'))).toBe('garbage');
    expect(parseFeedKey('garbage')).toBeUndefined();
    expect(parseFeedKey('12:')).toBeUndefined();
  });

  it('when a write is made, then it carries the activity JSON and the event time, and its dedup id is 8 ASCII bytes, the same for the same id', () => {
    const decoded = decodeActivity(Buffer.from(JSON.stringify(event)));
    if (!decoded.ok) throw new Error('expected a valid event');
    const write = toWrite(decoded.event, 5n, 1);
    expect(write).toMatchObject({
      eventId: 'e-1',
      timeMs: Date.parse(event.time),
      userId: 42,
      workspaceId: 7,
      offset: 5n,
    });
    expect(JSON.parse(write.json)).toMatchObject({
      id: 'e-1',
      userId: 42,
      time: '2026-01-02T03:04:05.006Z',
    });
    // A stream log entry says where it is and whether it is in order, before the activity.
    const entry = Buffer.from(logEntry(1234, false, write.json));
    expect(splitLogEntry(entry)).toEqual({
      position: 1234,
      inOrder: false,
      json: Buffer.from(write.json),
    });
    expect(logEntryJson(logEntry(7, true, write.json))).toBe(write.json);
    expect(() => splitLogEntry(Buffer.from(write.json))).toThrow();
    expect(Buffer.byteLength(dedupId('e-1'))).toBe(8);
    expect([...dedupId('e-1')].every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
    expect(dedupId('e-1')).toBe(dedupId('e-1'));
    expect(dedupId('e-1')).not.toBe(dedupId('e-2'));
  });
});

describe('the compiled inbox.events validator', () => {
  const delivered = {
    specversion: '1.0',
    id: 'A'.repeat(22),
    source: '/activity-service/inbox-router',
    type: 'io.activitysuite.inbox.delivered',
    time: '2026-12-01T10:00:00.000Z',
    subject: '7',
    data: {
      deliveryId: 'A'.repeat(22),
      recipientId: 7,
      workspaceId: 3,
      activity: {
        id: 'e1',
        userId: 2,
        time: '2026-12-01T09:59:00.000Z',
        source: '/x',
        actorId: 2,
        verb: 'commented',
        object: { type: 'doc', id: '1' },
        workspaceId: 3,
      },
    },
  };
  const marked = {
    specversion: '1.0',
    id: 'm1',
    source: '/activity-service/inbox',
    type: 'io.activitysuite.inbox.marked',
    time: '2026-12-01T10:00:00.000Z',
    subject: '7',
    data: { recipientId: 7, action: 'read', ids: ['B'.repeat(22)] },
  };
  const variants: [string, unknown][] = [
    ['a delivery', delivered],
    ['a mark by ids', marked],
    [
      'a mark of all up to a position',
      { ...marked, data: { recipientId: 7, action: 'seen', upTo: 12 } },
    ],
    ['an unknown action', { ...marked, data: { ...marked.data, action: 'delete' } }],
    ['a short delivery id', { ...delivered, data: { ...delivered.data, deliveryId: 'short' } }],
    ['an extra data field', { ...marked, data: { ...marked.data, extra: 1 } }],
    [
      '101 ids',
      {
        ...marked,
        data: { ...marked.data, ids: Array.from({ length: 101 }, () => 'C'.repeat(22)) },
      },
    ],
    ['a negative upTo', { ...marked, data: { recipientId: 7, action: 'seen', upTo: -1 } }],
    ['another type', { ...marked, type: 'io.activitysuite.activity.recorded' }],
    ['no data', { ...marked, data: undefined }],
  ];
  it.each(variants)(
    'when the compiled validator reads %s, then it agrees with the zod contract',
    (_, value) => {
      expect(validateInboxEvent(value).ok).toBe(InboxEvent.safeParse(value).success);
    },
  );
});
