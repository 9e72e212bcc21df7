import { describe, expect, it } from 'vitest';
import { ActivityEvent, ActivityLimits, CreateUserBody, ErrorBody, UsersEvent, toErrorDetails } from './index.js';

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
  it('accepts a well-formed CloudEvent', () => {
    expect(ActivityEvent.parse(valid).data.verb).toBe('commented');
  });

  it('rejects a malformed envelope with field-level details', () => {
    const result = ActivityEvent.safeParse({ ...valid, specversion: '0.3', time: 'yesterday', data: { ...valid.data, workspaceId: -1 }, extra: 1 });
    expect(result.success).toBe(false);
    const paths = toErrorDetails(result.error!).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['specversion', 'time', 'data.workspaceId', '(root)']));
  });

  it('rejects metadata over the size limit', () => {
    const metadata = { blob: 'x'.repeat(ActivityLimits.metadataMaxBytes) };
    const result = ActivityEvent.safeParse({ ...valid, data: { ...valid.data, metadata } });
    expect(result.success).toBe(false);
    expect(toErrorDetails(result.error!)[0]?.path).toBe('data.metadata');
  });

  it('rejects a subject that is not a user id', () => {
    expect(ActivityEvent.safeParse({ ...valid, subject: 'alice' }).success).toBe(false);
  });
});

describe('DTOs', () => {
  it('rejects an unknown field and a wrong type on user creation', () => {
    const result = CreateUserBody.safeParse({ username: 'ann', email: 'ann@example.com', firstName: 'Ann', lastName: 'Lee', isAdmin: true, isActive: 'yes' });
    expect(result.success).toBe(false);
    const details = toErrorDetails(result.error!, 'body');
    expect(details.map((d) => d.path)).toEqual(expect.arrayContaining(['body.isActive', 'body']));
  });

  it('discriminates users events by type', () => {
    const event = UsersEvent.parse({ ...valid, type: 'io.activitysuite.user.deleted', data: { userId: 42 } });
    expect(event.type).toBe('io.activitysuite.user.deleted');
  });

  it('the error body requires a code from the list', () => {
    expect(ErrorBody.safeParse({ error: { code: 'teapot', message: 'x' }, requestId: 'r' }).success).toBe(false);
  });
});
