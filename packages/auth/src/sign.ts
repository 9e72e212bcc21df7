import { SignJWT } from 'jose';

export interface TokenClaims {
  sub: string;
  roles?: string[];
  scopes?: string[];
  ttlSeconds?: number;
  issuer?: string;
  audience?: string;
}

/** Signs an HS256 token; for local development and tests. */
export async function signDevToken(secret: string, claims: TokenClaims): Promise<string> {
  const jwt = new SignJWT({
    ...(claims.roles?.length ? { roles: claims.roles } : {}),
    ...(claims.scopes?.length ? { scope: claims.scopes.join(' ') } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.ttlSeconds ?? 3600));
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
