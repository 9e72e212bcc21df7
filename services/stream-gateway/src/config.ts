import { authConfigRule, authEnv } from '@suite/auth';
import { env, loadConfig, loadConfigOrExit } from '@suite/config';
import { rateLimitEnv } from '@suite/server-kit';
import { telemetryEnv } from '@suite/telemetry';

/** Every variable stream-gateway reads; README lists them with their defaults. */
export const gatewayConfigShape = {
  PORT: env.port(3003),
  HOST: env.string('127.0.0.1'),
  LOG_LEVEL: env.logLevel(),
  LOG_FORMAT: env.logFormat(),
  REDIS_URL: env.string('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: env.redisKeyPrefix(),
  TRUST_PROXY: env.string('loopback'),
  SHUTDOWN_GRACE_MS: env.int(10_000, 100, 120_000),
  STREAM_ALLOWED_ORIGINS: env.list('http://127.0.0.1:8080,http://localhost:8080'),
  STREAM_HIGH_WATER_MARK_BYTES: env.int(1_048_576, 1024, 64 * 1_048_576),
  STREAM_MAX_CONNECTIONS_PER_USER: env.int(10, 1, 10_000),
  STREAM_HEARTBEAT_MS: env.int(30_000, 100, 600_000),
  STREAM_MAX_PAYLOAD_BYTES: env.int(4096, 125, 1_048_576),
  /** SSUBSCRIBE instead of SUBSCRIBE; the activity-service must then publish with SPUBLISH (PUBSUB_SHARDED). */
  PUBSUB_SHARDED: env.bool(false),
  ...rateLimitEnv,
  ...authEnv,
  ...telemetryEnv,
};

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

export function loadGatewayConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(gatewayConfigShape, source, [authConfigRule]);
}

/** For the process entry point: a bad variable prints its name and exits 1. */
export function readGatewayConfigOrExit(): GatewayConfig {
  return loadConfigOrExit(gatewayConfigShape, process.env, [authConfigRule]);
}
