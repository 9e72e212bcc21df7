import type { z } from 'zod';
import { authConfigRule, authEnv } from '@suite/auth';
import { env, loadConfig, loadConfigOrExit } from '@suite/config';
import { telemetryEnv } from '@suite/telemetry';
import { rateLimitEnv } from './rate-limits.js';

/** The variables every service reads, with `defaultPort` its own; a service adds its own to these. */
export function baseEnv(defaultPort: number) {
  return {
    PORT: env.port(defaultPort),
    HOST: env.string('127.0.0.1'),
    LOG_LEVEL: env.logLevel(),
    LOG_FORMAT: env.logFormat(),
    TRUST_PROXY: env.string('loopback'),
    SHUTDOWN_GRACE_MS: env.int(10_000, 100, 120_000),
    /** Every service shares Redis: rate-limit budgets and revoked users for all, projections and streams for some. */
    REDIS_URL: env.string('redis://127.0.0.1:6379'),
    REDIS_KEY_PREFIX: env.redisKeyPrefix(),
    ...rateLimitEnv,
    ...authEnv,
    ...telemetryEnv,
  };
}
type BaseShape = ReturnType<typeof baseEnv>;
export type BaseConfig = z.infer<z.ZodObject<BaseShape>>;

/**
 * A service's whole configuration: the base variables and its own. `load` throws a ConfigError
 * naming each bad variable; `readOrExit` prints it and exits 1 (for entry points).
 */
export function serviceConfig<S extends Record<string, z.ZodTypeAny>>(defaultPort: number, own: S) {
  const shape = { ...baseEnv(defaultPort), ...own };
  type Config = z.infer<z.ZodObject<typeof shape>>;
  // Every config has the auth variables (baseEnv): the rule reads only those.
  const rules = [
    (config: Config) => authConfigRule(config as unknown as Parameters<typeof authConfigRule>[0]),
  ];
  return {
    shape,
    load: (source: Record<string, string | undefined> = process.env): Config =>
      loadConfig(shape, source, rules),
    readOrExit: (): Config => loadConfigOrExit(shape, process.env, rules),
  };
}
