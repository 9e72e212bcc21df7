import { describe, expect, it } from 'vitest';
import { ConfigError, env, loadConfig } from './index.js';

const shape = { PORT: env.port(3000), KAFKA_BROKERS: env.list('127.0.0.1:9092'), DEBUG: env.bool(false) };

describe('loadConfig', () => {
  it('when variables are unset, the defaults apply', () => {
    expect(loadConfig(shape, {})).toEqual({ PORT: 3000, KAFKA_BROKERS: ['127.0.0.1:9092'], DEBUG: false });
  });

  it('when a value is malformed, the error names the variable', () => {
    expect(() => loadConfig(shape, { PORT: 'eighty' })).toThrowError(ConfigError);
    try {
      loadConfig(shape, { PORT: '70000', DEBUG: 'maybe' });
    } catch (err) {
      const problems = (err as ConfigError).problems.map((p) => p.variable).sort();
      expect(problems).toEqual(['DEBUG', 'PORT']);
      expect((err as Error).message).toContain('PORT');
    }
  });

  it('when a list is given, it is split and trimmed', () => {
    expect(loadConfig(shape, { KAFKA_BROKERS: 'a:1, b:2' }).KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
  });
});
