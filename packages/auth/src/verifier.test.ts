import { afterEach, describe, expect, it, vi } from 'vitest';
import { signDevToken } from './sign.js';
import { createTokenVerifier, VERIFIED_TOKENS_MAX } from './verifier.js';
import { canActAs, type Principal } from './principal.js';
import { bearerToken } from './middleware.js';

const user = (id: number, roles: string[] = []): Principal => ({
  kind: 'user',
  sub: String(id),
  userId: id,
  roles,
  scopes: [],
  expiresAt: 0,
});

describe('principal rules', () => {
  it('when a user acts as someone, then it may be themself but not another user, and an admin may act as anyone', () => {
    expect(canActAs(user(1), 1)).toBe(true);
    expect(canActAs(user(1), 2)).toBe(false);
    expect(canActAs(user(1, ['admin']), 2)).toBe(true);
  });

  it('when a bearer header is parsed, then "Bearer <token>" gives the token, no header gives none, and another scheme is refused', () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(() => bearerToken('Token abc')).toThrow(/Bearer/);
  });
});

describe('verified tokens are remembered until they expire', () => {
  const secret = 'verifier-cache-test-secret-0123456789abcdef';
  const settings = { algorithms: ['HS256' as const], secret };
  afterEach(() => vi.useRealTimers());

  it('when the same token comes again, then it is answered from memory (the same principal), without a second signature check', async () => {
    const verifier = await createTokenVerifier(settings);
    const token = await signDevToken(secret, { sub: '42' });
    const first = await verifier.verify(token);
    expect(await verifier.verify(token)).toBe(first);
    // A token with the same claims but another signature is not the remembered one.
    await expect(verifier.verify(`${token.slice(0, -4)}AAAA`)).rejects.toThrow(/signature/);
  });

  it('when a remembered token expires, then it is refused like any expired token', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const verifier = await createTokenVerifier(settings);
    const token = await signDevToken(secret, { sub: '42', ttlSeconds: 60 });
    await verifier.verify(token);
    vi.setSystemTime(Date.now() + 61_000 + 5_000); // past exp and the 5 s clock tolerance
    await expect(verifier.verify(token)).rejects.toThrow(/expired/);
  });

  it(`when more than ${VERIFIED_TOKENS_MAX} tokens were verified, then the oldest is forgotten and verified again`, async () => {
    const verifier = await createTokenVerifier(settings);
    const oldest = await signDevToken(secret, { sub: '1' });
    const remembered = await verifier.verify(oldest);
    for (let i = 0; i < VERIFIED_TOKENS_MAX; i++)
      await verifier.verify(await signDevToken(secret, { sub: String(1000 + i) }));
    const again = await verifier.verify(oldest);
    expect(again).not.toBe(remembered);
    expect(again).toEqual(remembered);
  }, 60_000);
});
