import { describe, expect, it } from 'vitest';
import { canActAs, type Principal } from './principal.js';
import { bearerToken } from './middleware.js';

const user = (id: number, roles: string[] = []): Principal => ({ kind: 'user', sub: String(id), userId: id, roles, scopes: [], expiresAt: 0 });

describe('principal rules', () => {
  it('a user may act as themself, not as another user; an admin may act as anyone', () => {
    expect(canActAs(user(1), 1)).toBe(true);
    expect(canActAs(user(1), 2)).toBe(false);
    expect(canActAs(user(1, ['admin']), 2)).toBe(true);
  });

  it('a bearer header is parsed strictly', () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(() => bearerToken('Token abc')).toThrow(/Bearer/);
  });
});
