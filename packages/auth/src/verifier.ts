import { AppError, ID_PATTERN } from '@suite/contracts';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  importSPKI,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { AuthSettings } from './config.js';
import type { Principal } from './principal.js';

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return [];
}

function toPrincipal(payload: JWTPayload): Principal {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0)
    throw new AppError('unauthorized', 'token has no subject');
  const isUser = ID_PATTERN.test(sub);
  return {
    kind: isUser ? 'user' : 'service',
    sub,
    userId: isUser ? Number(sub) : null,
    roles: stringList(payload.roles),
    scopes: stringList(payload.scope ?? payload.scopes),
    expiresAt: payload.exp as number,
  };
}

function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired)
    return err.claim === 'iat' ? 'token is older than the maximum token age' : 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed)
    return `token claim "${err.claim}" is invalid`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token algorithm is not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key matches the token';
  if (err instanceof AppError) return err.message;
  return 'token is malformed';
}

/** How many verified tokens a process remembers (a few MB at most). */
export const VERIFIED_TOKENS_MAX = 10_000;

/**
 * Tokens this process has verified, each until it expires: the signature check (20–35 µs with
 * jose's WebCrypto) is paid once per token, not once per request. Keyed by the whole token, so only
 * the very token that was verified is found. Bounded: past `VERIFIED_TOKENS_MAX` the oldest entry
 * goes. Revocation is checked on every request outside this cache (server-kit's `refusingRevoked`).
 */
class VerifiedTokens {
  private readonly entries = new Map<string, { principal: Principal; untilMs: number }>();

  get(token: string): Principal | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (Date.now() < entry.untilMs) return entry.principal;
    this.entries.delete(token);
    return undefined;
  }

  set(token: string, principal: Principal, untilMs: number): void {
    if (this.entries.size >= VERIFIED_TOKENS_MAX)
      this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { principal, untilMs });
  }
}

/** Builds a verifier from settings: HS* secret, RS/ES public key, or a JWKS URL. */
export async function createTokenVerifier(settings: AuthSettings): Promise<TokenVerifier> {
  const hmac = settings.algorithms.filter((a) => a.startsWith('HS'));
  const asym = settings.algorithms.filter((a) => !a.startsWith('HS'));
  if (hmac.length > 0 && asym.length > 0) {
    // Mixing families is what makes algorithm-confusion attacks possible.
    throw new Error('JWT_ALGORITHMS must not mix HMAC and public-key algorithms');
  }
  let key: Uint8Array | JWTVerifyGetKey | Awaited<ReturnType<typeof importSPKI>>;
  if (hmac.length > 0) {
    if (!settings.secret) throw new Error('JWT_SECRET is required for HS* algorithms');
    key = new TextEncoder().encode(settings.secret);
  } else if (settings.jwksUrl) {
    key = createRemoteJWKSet(new URL(settings.jwksUrl), {
      cacheMaxAge: 10 * 60_000,
      // An unknown kid triggers at most one refetch per cooldown window.
      cooldownDuration: 30_000,
      timeoutDuration: 5_000,
    });
  } else if (settings.publicKey) {
    const pem = settings.publicKey.trim();
    if (pem.startsWith('{')) {
      key = createLocalJWKSet(JSON.parse(pem));
    } else {
      key = await importSPKI(pem, asym[0]!);
    }
  } else {
    throw new Error('JWT_PUBLIC_KEY or JWT_JWKS_URL is required for public-key algorithms');
  }

  const cache = new VerifiedTokens();
  return {
    async verify(token) {
      const cached = cache.get(token);
      if (cached) return cached;
      try {
        const { payload } = await jwtVerify(token, key as Uint8Array, {
          algorithms: settings.algorithms,
          requiredClaims: settings.maxTokenAgeS ? ['exp', 'sub', 'iat'] : ['exp', 'sub'],
          ...(settings.maxTokenAgeS ? { maxTokenAge: settings.maxTokenAgeS } : {}),
          clockTolerance: settings.clockToleranceS ?? 5,
          ...(settings.issuer ? { issuer: settings.issuer } : {}),
          ...(settings.audience ? { audience: settings.audience } : {}),
        });
        const principal = toPrincipal(payload);
        const maxAgeEnd =
          settings.maxTokenAgeS && typeof payload.iat === 'number'
            ? payload.iat + settings.maxTokenAgeS
            : Infinity;
        cache.set(token, principal, Math.min(principal.expiresAt, maxAgeEnd) * 1000);
        return principal;
      } catch (err) {
        throw new AppError('unauthorized', reason(err));
      }
    },
  };
}
