import { usersEventsOriginEnv } from '@suite/auth';
import { env, kafkaSecurityEnv } from '@suite/config';
import { serviceConfig } from '@suite/server-kit';
import { z } from 'zod';

/** Every variable users-service reads (the base ones every service reads, then its own); README lists them. */
const usersConfig = serviceConfig(3001, {
  MONGO_URL: env.string('mongodb://127.0.0.1:27017'),
  MONGO_DB: env.string('users'),
  MONGO_QUERY_TIMEOUT_MS: env.int(5000, 50, 60_000),
  OUTBOX_RELAY_ENABLED: env.bool(true),
  OUTBOX_SWEEP_INTERVAL_MS: env.int(5000, 100, 600_000),
  OUTBOX_BATCH_SIZE: env.int(100, 1, 10_000),
  KAFKA_BROKERS: env.list('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: env.string('users-service'),
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  ...kafkaSecurityEnv,
  BODY_LIMIT: env.string('100kb'),
  ...usersEventsOriginEnv,
});

export const usersConfigShape = usersConfig.shape;
export const loadUsersConfig = usersConfig.load;
/** For the process entry point: a bad variable prints its name and exits 1. */
export const readUsersConfigOrExit = usersConfig.readOrExit;
export type UsersConfig = ReturnType<typeof loadUsersConfig>;
