import { z } from 'zod';
import { env } from '@suite/config';

export const Algorithm = z.enum([
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'PS256',
]);
export type Algorithm = z.infer<typeof Algorithm>;

/** Environment variables for token verification; services spread this into their config. */
export const authEnv = {
  JWT_ALGORITHMS: env.list('HS256').pipe(z.array(Algorithm).min(1, 'list at least one algorithm')),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_PUBLIC_KEY: z.string().min(1).optional(),
  JWT_JWKS_URL: z.url().optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  JWT_CLOCK_TOLERANCE_S: env.int(5, 0, 300),
  /** When set, a token older than this (by `iat`, which becomes required) is refused, whatever its `exp`. */
  JWT_MAX_TOKEN_AGE_S: z.coerce.number().int().min(1).max(31_536_000).optional(),
};

type AuthVariables = {
  JWT_ALGORITHMS: Algorithm[];
  JWT_SECRET?: string | undefined;
  JWT_PUBLIC_KEY?: string | undefined;
  JWT_JWKS_URL?: string | undefined;
  JWT_ISSUER?: string | undefined;
  JWT_AUDIENCE?: string | undefined;
  JWT_CLOCK_TOLERANCE_S: number;
  JWT_MAX_TOKEN_AGE_S?: number | undefined;
};

/**
 * Keys from an identity provider (a public key or its JWKS) sign tokens for every API it serves:
 * without `iss` and `aud` pinned, a token minted for another API would be accepted here. So with
 * a public key or JWKS URL both are required at start-up. (A shared HS* secret is this suite's own.)
 */
export function authConfigRule(cfg: AuthVariables): { variable: string; message: string }[] {
  if (!cfg.JWT_PUBLIC_KEY && !cfg.JWT_JWKS_URL) return [];
  const keyVariable = cfg.JWT_JWKS_URL ? 'JWT_JWKS_URL' : 'JWT_PUBLIC_KEY';
  return (['JWT_ISSUER', 'JWT_AUDIENCE'] as const)
    .filter((variable) => !cfg[variable])
    .map((variable) => ({
      variable,
      message: `required with ${keyVariable}: tokens the identity provider signs for other APIs must not be accepted here`,
    }));
}

export interface AuthSettings {
  algorithms: Algorithm[];
  secret?: string | undefined;
  publicKey?: string | undefined;
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  clockToleranceS?: number;
  maxTokenAgeS?: number | undefined;
}

/** Maps parsed auth variables to verifier settings. */
export function authSettingsFrom(cfg: AuthVariables): AuthSettings {
  return {
    algorithms: cfg.JWT_ALGORITHMS,
    secret: cfg.JWT_SECRET,
    publicKey: cfg.JWT_PUBLIC_KEY,
    jwksUrl: cfg.JWT_JWKS_URL,
    issuer: cfg.JWT_ISSUER,
    audience: cfg.JWT_AUDIENCE,
    clockToleranceS: cfg.JWT_CLOCK_TOLERANCE_S,
    maxTokenAgeS: cfg.JWT_MAX_TOKEN_AGE_S,
  };
}
