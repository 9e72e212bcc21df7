import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, feedMember } from '@suite/contracts';
import { decodeActivity } from './decode.js';

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
});
