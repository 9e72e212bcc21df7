import { generateKeyPairSync } from 'node:crypto';
import express from 'express';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '@suite/contracts';
import { createLogger } from '@suite/logger';
import { errorMiddleware, listen, type RunningServer } from '@suite/server-kit';
import {
  authenticate,
  createTokenVerifier,
  principalOf,
  signDevToken,
  type AuthSettings,
} from '@suite/auth';

const secret = 'a-test-secret-that-is-long-enough-0123456789';
const silent = createLogger({ service: 'auth-test', version: '0', level: 'silent' });

async function serve(settings: AuthSettings): Promise<RunningServer> {
  const verifier = await createTokenVerifier(settings);
  const app = express();
  app.get('/whoami', authenticate(verifier), (req, res) => {
    res.json(principalOf(req));
  });
  app.use(errorMiddleware(silent));
  return listen(app, 0, '127.0.0.1');
}

async function get(server: RunningServer, authorization?: string) {
  const res = await fetch(`${server.url}/whoami`, {
    headers: authorization ? { authorization } : {},
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

function expectUnauthorized(result: { status: number; body: unknown }) {
  expect(result.status).toBe(401);
  const body = ErrorBody.parse(result.body);
  expect(body.error.code).toBe('unauthorized');
}

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('HS256 verification', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({ algorithms: ['HS256'], secret, issuer: 'suite', audience: 'api' });
  });
  afterAll(() => server.close(100));

  const sign = (claims: Record<string, unknown>, alg = 'HS256') =>
    new SignJWT(claims).setProtectedHeader({ alg }).sign(new TextEncoder().encode(secret));

  it('when the token is valid, then the principal is the user with roles and scopes', async () => {
    const token = await signDevToken(secret, {
      sub: '42',
      roles: ['admin'],
      scopes: ['activity:write'],
      issuer: 'suite',
      audience: 'api',
    });
    const result = await get(server, `Bearer ${token}`);
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({
      kind: 'user',
      userId: 42,
      roles: ['admin'],
      scopes: ['activity:write'],
    });
  });

  it('when there is no token, then the answer is 401 in the error shape', async () => {
    expectUnauthorized(await get(server));
  });

  it('when the token is garbage or the header is not Bearer, then the answer is 401', async () => {
    expectUnauthorized(await get(server, 'Bearer not.a.jwt'));
    expectUnauthorized(await get(server, 'Basic dXNlcjpwYXNz'));
  });

  it('when the token uses alg none, then the answer is 401', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: '1', exp: now() + 60, iss: 'suite', aud: 'api', roles: ['admin'] })}.`;
    expectUnauthorized(await get(server, `Bearer ${token}`));
  });

  it('when the token is expired or not yet valid, then the answer is 401', async () => {
    expectUnauthorized(
      await get(
        server,
        `Bearer ${await sign({ sub: '1', exp: now() - 3600, iss: 'suite', aud: 'api' })}`,
      ),
    );
    expectUnauthorized(
      await get(
        server,
        `Bearer ${await sign({ sub: '1', exp: now() + 7200, nbf: now() + 3600, iss: 'suite', aud: 'api' })}`,
      ),
    );
  });

  it('when exp is missing, then the answer is 401', async () => {
    expectUnauthorized(
      await get(server, `Bearer ${await sign({ sub: '1', iss: 'suite', aud: 'api' })}`),
    );
  });

  it('when iss or aud is wrong, then the answer is 401', async () => {
    expectUnauthorized(
      await get(
        server,
        `Bearer ${await sign({ sub: '1', exp: now() + 60, iss: 'other', aud: 'api' })}`,
      ),
    );
    expectUnauthorized(
      await get(
        server,
        `Bearer ${await sign({ sub: '1', exp: now() + 60, iss: 'suite', aud: 'other' })}`,
      ),
    );
  });

  it('when the algorithm is not on the allow-list, then the answer is 401', async () => {
    expectUnauthorized(
      await get(
        server,
        `Bearer ${await sign({ sub: '1', exp: now() + 60, iss: 'suite', aud: 'api' }, 'HS512')}`,
      ),
    );
  });
});

describe('RS256 verification', () => {
  let server: RunningServer;
  let publicPem: string;
  let privateKey: CryptoKeyLike;
  type CryptoKeyLike = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = pair.privateKey;
    publicPem = await exportSPKI(pair.publicKey);
    server = await serve({ algorithms: ['RS256'], publicKey: publicPem });
  });
  afterAll(() => server.close(100));

  it('when the token is signed with the private key, then it is accepted', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('7')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect((await get(server, `Bearer ${token}`)).status).toBe(200);
  });

  it('when an HS256 token is signed with the RS256 public key (algorithm confusion), then the answer is 401', async () => {
    const token = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('1')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(publicPem));
    expectUnauthorized(await get(server, `Bearer ${token}`));
  });

  it('when the token is signed by another key, then the answer is 401', async () => {
    const { privateKey: other } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('7')
      .setExpirationTime('5m')
      .sign(other);
    expectUnauthorized(await get(server, `Bearer ${token}`));
  });
});

describe('maximum token age', () => {
  it('when a token was issued longer ago than JWT_MAX_TOKEN_AGE_S, or has no iat, then it is refused though it has not expired', async () => {
    const server = await serve({ algorithms: ['HS256'], secret, maxTokenAgeS: 600 });
    const key = new TextEncoder().encode(secret);
    try {
      const fresh = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('3')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(key);
      expect((await get(server, `Bearer ${fresh}`)).status).toBe(200);
      const old = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('3')
        .setIssuedAt(now() - 700)
        .setExpirationTime('1h')
        .sign(key);
      const refused = await get(server, `Bearer ${old}`);
      expectUnauthorized(refused);
      expect(ErrorBody.parse(refused.body).error.message).toMatch(/maximum token age/);
      const undated = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('3')
        .setExpirationTime('1h')
        .sign(key);
      expectUnauthorized(await get(server, `Bearer ${undated}`));
    } finally {
      await server.close(100);
    }
  });
});

describe('verifier settings', () => {
  it('when HMAC and public-key algorithms are mixed, then creating the verifier fails', async () => {
    await expect(createTokenVerifier({ algorithms: ['HS256', 'RS256'], secret })).rejects.toThrow(
      /must not mix/,
    );
  });
});

describe('JWKS verification', () => {
  it('when tokens name known and unknown kids, then the key set is fetched once and refetched at most once per cooldown', async () => {
    const known = await generateKeyPair('ES256', { extractable: true });
    const { exportJWK } = await import('jose');
    const jwk = { ...(await exportJWK(known.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    let fetches = 0;
    const jwksApp = express();
    jwksApp.get('/jwks.json', (_req, res) => {
      fetches += 1;
      res.json({ keys: [jwk] });
    });
    const jwks = await listen(jwksApp, 0, '127.0.0.1');
    const server = await serve({
      algorithms: ['ES256'],
      jwksUrl: `${jwks.url}/jwks.json`,
      issuer: 'https://idp.test',
      audience: 'activity-suite',
    });
    const fromIdp = (audience: string, kid = 'k1') =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid })
        .setSubject('3')
        .setIssuer('https://idp.test')
        .setAudience(audience)
        .setExpirationTime('5m');
    try {
      const good = await fromIdp('activity-suite').sign(known.privateKey);
      // The same identity provider's token for another API is not a token for this one.
      expectUnauthorized(
        await get(server, `Bearer ${await fromIdp('billing-api').sign(known.privateKey)}`),
      );
      expect((await get(server, `Bearer ${good}`)).status).toBe(200);
      expect((await get(server, `Bearer ${good}`)).status).toBe(200);
      expect(fetches).toBe(1);

      const stranger = await generateKeyPair('ES256');
      for (let i = 0; i < 5; i++) {
        const bad = await fromIdp('activity-suite', `unknown-${i}`).sign(stranger.privateKey);
        expectUnauthorized(await get(server, `Bearer ${bad}`));
      }
      // Five unknown kids inside the cooldown window cost at most one extra fetch.
      expect(fetches).toBeLessThanOrEqual(2);
    } finally {
      await server.close(100);
      await jwks.close(100);
    }
  });
});
