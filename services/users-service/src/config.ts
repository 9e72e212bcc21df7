import { authConfigRule, authEnv, usersEventsOriginEnv } from '@suite/auth';
import { env, kafkaSecurityEnv, loadConfig, loadConfigOrExit } from '@suite/config';
import { rateLimitEnv } from '@suite/server-kit';
import { telemetryEnv } from '@suite/telemetry';
import { z } from 'zod';

/** Every variable users-service reads; README lists them with their defaults. */
export const usersConfigShape = {
  PORT: env.port(3001),
  HOST: env.string('127.0.0.1'),
  LOG_LEVEL: env.logLevel(),
  LOG_FORMAT: env.logFormat(),
  MONGO_URL: env.string('mongodb://127.0.0.1:27017'),
  MONGO_DB: env.string('users'),
  MONGO_QUERY_TIMEOUT_MS: env.int(5000, 50, 60_000),
  OUTBOX_RELAY_ENABLED: env.bool(true),
  OUTBOX_SWEEP_INTERVAL_MS: env.int(5000, 100, 600_000),
  OUTBOX_BATCH_SIZE: env.int(100, 1, 10_000),
  /** Redis holds the rate-limit budgets the replicas share (nothing else of this service). */
  REDIS_URL: env.string('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: env.redisKeyPrefix(),
  KAFKA_BROKERS: env.list('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: env.string('users-service'),
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  ...kafkaSecurityEnv,
  BODY_LIMIT: env.string('100kb'),
  TRUST_PROXY: env.string('loopback'),
  SHUTDOWN_GRACE_MS: env.int(10_000, 100, 120_000),
  ...rateLimitEnv,
  ...authEnv,
  ...usersEventsOriginEnv,
  ...telemetryEnv,
};

export type UsersConfig = ReturnType<typeof loadUsersConfig>;

export function loadUsersConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(usersConfigShape, source, [authConfigRule]);
}

/** For the process entry point: a bad variable prints its name and exits 1. */
export function readUsersConfigOrExit(): UsersConfig {
  return loadConfigOrExit(usersConfigShape, process.env, [authConfigRule]);
}
