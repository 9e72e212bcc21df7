import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@suite/config';
import { authConfigRule, authEnv } from './config.js';

const load = (vars: Record<string, string>) => loadConfig(authEnv, vars, [authConfigRule]);

function problems(vars: Record<string, string>): string[] {
  try {
    load(vars);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => p.variable);
  }
}

describe('identity-provider keys require the issuer and audience', () => {
  it('when a JWKS URL or a public key comes without JWT_ISSUER and JWT_AUDIENCE, then the config is refused naming each missing variable', () => {
    const jwks = { JWT_ALGORITHMS: 'ES256', JWT_JWKS_URL: 'https://idp.example/jwks.json' };
    expect(problems(jwks)).toEqual(['JWT_ISSUER', 'JWT_AUDIENCE']);
    expect(problems({ ...jwks, JWT_ISSUER: 'https://idp.example' })).toEqual(['JWT_AUDIENCE']);
    expect(
      problems({
        JWT_ALGORITHMS: 'RS256',
        JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----',
        JWT_AUDIENCE: 'activity-suite',
      }),
    ).toEqual(['JWT_ISSUER']);
    expect(
      problems({ ...jwks, JWT_ISSUER: 'https://idp.example', JWT_AUDIENCE: 'activity-suite' }),
    ).toEqual([]);
  });

  it("when the suite's own HS256 secret is used, then no issuer or audience is required and the maximum token age is bounded", () => {
    expect(problems({ JWT_SECRET: 'x'.repeat(32) })).toEqual([]);
    expect(
      load({ JWT_SECRET: 'x'.repeat(32), JWT_MAX_TOKEN_AGE_S: '3600' }).JWT_MAX_TOKEN_AGE_S,
    ).toBe(3600);
    expect(problems({ JWT_SECRET: 'x'.repeat(32), JWT_MAX_TOKEN_AGE_S: '0' })).toEqual([
      'JWT_MAX_TOKEN_AGE_S',
    ]);
  });
});
