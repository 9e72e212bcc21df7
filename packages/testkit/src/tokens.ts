import { signDevToken } from '@suite/auth';

/** The HS256 secret every in-process test service verifies tokens with (a test value, never a real key). */
export const TEST_JWT_SECRET = 'suite-test-jwt-secret-0123456789abcdefghijkl';

/** Tokens for the principals tests act as: an admin, a user, a publishing service (sub `publisher`). */
export const testTokens = {
  admin: () => signDevToken(TEST_JWT_SECRET, { sub: '900000', roles: ['admin'] }),
  user: (id: number, options: { roles?: string[]; ttlSeconds?: number } = {}) =>
    signDevToken(TEST_JWT_SECRET, { sub: String(id), ...options }),
  writer: () => signDevToken(TEST_JWT_SECRET, { sub: 'publisher', scopes: ['activity:write'] }),
  /** Any subject, e.g. an admin with sub `1`. */
  as: (sub: string, options: { roles?: string[]; scopes?: string[]; ttlSeconds?: number } = {}) =>
    signDevToken(TEST_JWT_SECRET, { sub, ...options }),
};
