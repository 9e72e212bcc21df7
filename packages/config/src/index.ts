import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** Thrown when the environment does not satisfy a service's config schema. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      'Invalid configuration:\n' + problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

type EnvShape = Record<string, z.ZodTypeAny>;

/** A rule across variables (one requires another): the problems it finds, each naming a variable. */
export type ConfigRule<C> = (config: C) => { variable: string; message: string }[];

/** Parses `env` against a schema whose keys are environment variable names, then checks the rules across them. */
export function loadConfig<S extends EnvShape>(
  shape: S,
  env: Record<string, string | undefined>,
  rules: ConfigRule<z.infer<z.ZodObject<S>>>[] = [],
): z.infer<z.ZodObject<S>> {
  const present: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    // An empty variable means "unset", so `FOO= node app` falls back to the default.
    present[key] = value === '' ? undefined : value;
  }
  const result = z.object(shape).safeParse(present);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(unknown)'),
        message: issue.message,
      })),
    );
  }
  const problems = rules.flatMap((rule) => rule(result.data));
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data;
}

/** Like loadConfig, but prints the problem and exits 1, for process entry points. */
export function loadConfigOrExit<S extends EnvShape>(
  shape: S,
  env: Record<string, string | undefined>,
  rules: ConfigRule<z.infer<z.ZodObject<S>>>[] = [],
): z.infer<z.ZodObject<S>> {
  try {
    return loadConfig(shape, env, rules);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Reusable variable parsers. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int().min(min).max(max).default(fallback),
  string: (fallback: string) => z.string().min(1).default(fallback),
  optionalString: () => z.string().min(1).optional(),
  url: (fallback: string) => z.url().default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
  list: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
  logLevel: () =>
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** JSON lines (production, log shippers) or human-readable colour lines for a terminal. */
  logFormat: () => z.enum(['json', 'pretty']).default('json'),
  /** A Redis key prefix: no braces, which would take the place of each key's hash tag (its Redis Cluster slot). */
  redisKeyPrefix: () =>
    z
      .string()
      .max(64)
      .regex(/^[^{}\s]*$/, 'must not contain braces or whitespace')
      .default(''),
};

/** Kafka connection security, for the services that speak Kafka (managed clusters need TLS and SASL). */
export const kafkaSecurityEnv = {
  KAFKA_SSL: env.bool(false),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: env.optionalString(),
  KAFKA_SASL_PASSWORD: env.optionalString(),
};

type KafkaSecurityConfig = z.output<z.ZodObject<typeof kafkaSecurityEnv>>;

/** SASL options in kafkajs' shape (a union per mechanism). */
export type KafkaSasl = (
  { mechanism: 'plain' } | { mechanism: 'scram-sha-256' } | { mechanism: 'scram-sha-512' }
) & { username: string; password: string };

/** The `ssl` and `sasl` client options; a mechanism without credentials is a ConfigError. */
export function kafkaSecurity(config: KafkaSecurityConfig): { ssl: boolean; sasl?: KafkaSasl } {
  const mechanism = config.KAFKA_SASL_MECHANISM;
  if (!mechanism) return { ssl: config.KAFKA_SSL };
  const missing = (['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const).filter(
    (k) => !config[k],
  );
  if (missing.length > 0)
    throw new ConfigError(
      missing.map((variable) => ({
        variable,
        message: `required when KAFKA_SASL_MECHANISM is set`,
      })),
    );
  return {
    ssl: config.KAFKA_SSL,
    sasl: {
      mechanism,
      username: config.KAFKA_SASL_USERNAME!,
      password: config.KAFKA_SASL_PASSWORD!,
    } as KafkaSasl,
  };
}

/**
 * The suite's cache folder on a developer's machine or CI (downloads, local servers' data, the
 * development signing secret): `$SUITE_CACHE_DIR`, else `$XDG_CACHE_HOME/activity-suite`, else
 * `~/.cache/activity-suite`. The one formula: `.ci/run` and `prerequisites.sh` spell it in shell.
 */
export function suiteCacheDir(vars: Record<string, string | undefined>): string {
  return (
    vars.SUITE_CACHE_DIR ?? join(vars.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'activity-suite')
  );
}
