import { describe, expect, it } from 'vitest';
import { upstreamFor } from './edge-routes.js';

describe('edge routing', () => {
  it('sends each public path to the service DESIGN.md names', () => {
    expect(upstreamFor('/api/v1/users?page=2')).toBe('users');
    expect(upstreamFor('/api/v1/users/42')).toBe('users');
    expect(upstreamFor('/api/v1/users/42/workspaces')).toBe('users');
    expect(upstreamFor('/api/v1/workspaces/3/permissions')).toBe('users');
    expect(upstreamFor('/api/v1/users/42/activities?limit=5')).toBe('activity');
    expect(upstreamFor('/api/v1/users/42/activity-count')).toBe('activity');
    expect(upstreamFor('/api/v1/users/42/active-workspaces?days=7')).toBe('activity');
    expect(upstreamFor('/api/v1/activities')).toBe('activity');
    expect(upstreamFor('/api/v1/users/42/activity-stream?cursor=abc')).toBe('gateway');
    expect(upstreamFor('/demo')).toBe('gateway');
  });
});
