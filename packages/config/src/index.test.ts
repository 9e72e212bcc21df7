import { describe, expect, it } from 'vitest';
import { ConfigError, env, kafkaSecurity, kafkaSecurityEnv, loadConfig } from './index.js';

const shape = {
  PORT: env.port(3000),
  KAFKA_BROKERS: env.list('127.0.0.1:9092'),
  DEBUG: env.bool(false),
};

describe('loadConfig', () => {
  it('when variables are unset, then the defaults apply', () => {
    expect(loadConfig(shape, {})).toEqual({
      PORT: 3000,
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      DEBUG: false,
    });
  });

  it('when a value is malformed, then the error names the variable', () => {
    expect(() => loadConfig(shape, { PORT: 'eighty' })).toThrowError(ConfigError);
    try {
      loadConfig(shape, { PORT: '70000', DEBUG: 'maybe' });
    } catch (err) {
      const problems = (err as ConfigError).problems.map((p) => p.variable).sort();
      expect(problems).toEqual(['DEBUG', 'PORT']);
      expect((err as Error).message).toContain('PORT');
    }
  });

  it("when a Redis key prefix holds braces, then the config is refused (they would replace the keys' hash tags)", () => {
    const prefix = { REDIS_KEY_PREFIX: env.redisKeyPrefix() };
    expect(loadConfig(prefix, { REDIS_KEY_PREFIX: 'tenant-a:' }).REDIS_KEY_PREFIX).toBe(
      'tenant-a:',
    );
    for (const bad of ['{t}:', 'a}', 'a b'])
      expect(() => loadConfig(prefix, { REDIS_KEY_PREFIX: bad }), bad).toThrowError(
        /REDIS_KEY_PREFIX/,
      );
  });

  it('when a list is given, then it is split and trimmed', () => {
    expect(loadConfig(shape, { KAFKA_BROKERS: 'a:1, b:2' }).KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
  });
});

describe('kafkaSecurity', () => {
  const load = (source: Record<string, string>) =>
    kafkaSecurity(loadConfig(kafkaSecurityEnv, source));
  it('when Kafka security variables are set, then the client is plaintext without them, TLS with KAFKA_SSL, and SASL with a mechanism and credentials', () => {
    expect(load({})).toEqual({ ssl: false });
    expect(load({ KAFKA_SSL: 'true' })).toEqual({ ssl: true });
    expect(
      load({
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
      }),
    ).toEqual({
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
    });
  });

  it('when a Kafka security variable is missing or wrong, then the error names it', () => {
    expect(() => load({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' })).toThrow(
      /KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set/,
    );
    expect(() => load({ KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(/KAFKA_SASL_MECHANISM/);
  });
});
