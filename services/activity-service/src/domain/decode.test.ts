import { describe, expect, it } from 'vitest';
import { FeedBounds, decodeCursor, encodeCursor, feedEntry, feedMember, splitFeedEntry } from '@suite/contracts';
import { decodeActivity, toWrite } from './decode.js';

const event = {
  specversion: '1.0', id: 'e-1', source: '/t', type: 'io.activitysuite.activity.recorded', time: '2026-01-02T03:04:05.006Z', subject: '42',
  data: { actorId: 42, verb: 'commented', object: { type: 'doc', id: '9' }, workspaceId: 7 },
};

describe('decoding activity records', () => {
  it('accepts a valid event and classifies each kind of dead letter', () => {
    expect(decodeActivity(Buffer.from(JSON.stringify(event))).ok).toBe(true);
    expect(decodeActivity(Buffer.from('{nope'))).toMatchObject({ ok: false, reason: 'malformed_json' });
    expect(decodeActivity(Buffer.from(JSON.stringify({ ...event, subject: 'x' })))).toMatchObject({ ok: false, reason: 'schema_invalid' });
    expect(decodeActivity(Buffer.alloc(20_000, 32))).toMatchObject({ ok: false, reason: 'oversized' });
    expect(decodeActivity(null)).toMatchObject({ ok: false, reason: 'empty' });
  });

  it('orders feed members by time and round-trips cursors', () => {
    const member = feedMember(event.time, event.id);
    expect(member).toBe('001767323045006:e-1');
    expect(feedMember('2025-01-01T00:00:00Z', event.id) < member).toBe(true);
    expect(decodeCursor(encodeCursor(member))).toBe(member);
    expect(decodeCursor('not a cursor!')).toBeUndefined();
    expect(decodeCursor(Buffer.from('garbage').toString('base64url'))).toBeUndefined();
  });

  it('rejects event ids with control characters (a newline ends the id inside a feed entry)', () => {
    expect(decodeActivity(Buffer.from(JSON.stringify({ ...event, id: 'a\nb' })))).toMatchObject({ ok: false, reason: 'schema_invalid' });
    expect(decodeActivity(Buffer.from(JSON.stringify({ ...event, id: 'ünïcode ok' }))).ok).toBe(true);
  });

  it('feed entries sort exactly as their members, and the lex bounds exclude the cursor’s own entry', () => {
    // Ids that are prefixes of each other and ids with characters around '{' and '|' are the edge cases.
    const ids = ['a', 'ab', 'a!', 'a~', 'a{', 'a|', 'b', 'ü'];
    const members = ids.map((id) => feedMember(event.time, id)).sort();
    const entries = members.map((m) => feedEntry(m, JSON.stringify({ id: m, note: '|~\u00ff' }))).sort();
    expect(entries.map((e) => splitFeedEntry(e).member)).toEqual(members);
    const lexMax = (bound: string) => bound.slice(1);
    for (const [i, m] of members.entries()) {
      // ZRANGEBYLEX '(bound': strictly greater / strictly smaller, compared bytewise.
      const after = entries.filter((e) => Buffer.compare(Buffer.from(e), Buffer.from(lexMax(FeedBounds.after(m)))) > 0);
      const before = entries.filter((e) => Buffer.compare(Buffer.from(e), Buffer.from(lexMax(FeedBounds.before(m)))) < 0);
      expect(after.map((e) => splitFeedEntry(e).member)).toEqual(members.slice(i + 1));
      expect(before.map((e) => splitFeedEntry(e).member)).toEqual(members.slice(0, i));
    }
  });

  it('a write carries the feed entry: member, newline, the activity JSON', () => {
    const decoded = decodeActivity(Buffer.from(JSON.stringify(event)));
    if (!decoded.ok) throw new Error('expected a valid event');
    const { entry } = toWrite(decoded.event, '5', 1);
    expect(splitFeedEntry(entry)).toEqual({ member: '001767323045006:e-1', json: expect.stringContaining('"id":"e-1"') as string });
  });
});
