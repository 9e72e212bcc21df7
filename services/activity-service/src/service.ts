import type { Express } from 'express';
import { authSettingsFrom, createTokenVerifier } from '@suite/auth';
import { createLogger, type Logger } from '@suite/logger';
import { createHttpApp, createMetrics, listen, Readiness, type RunningServer } from '@suite/server-kit';
import type { ActivityConfig } from './config.js';
import { createKafka, kafkaProbe } from './data-access/kafka.js';
import { createRedis } from './data-access/redis.js';
import { activityRouter } from './http/activity.router.js';

export const SERVICE_NAME = 'activity-service';
export const SERVICE_VERSION = '0.1.0';

export interface ActivityService {
  app: Express;
  logger: Logger;
  start(): Promise<void>;
  listen(port?: number, host?: string): Promise<RunningServer>;
  stop(): Promise<void>;
}

/** Builds the service from its config; nothing listens until `listen`. */
export async function createActivityService(config: ActivityConfig, logger?: Logger): Promise<ActivityService> {
  const log = logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
  const verifier = await createTokenVerifier(authSettingsFrom(config));
  const redis = createRedis(config.REDIS_URL, log, SERVICE_NAME);
  const kafka = createKafka(config.KAFKA_CLIENT_ID, config.KAFKA_BROKERS);
  const kafkaReady = kafkaProbe(kafka);
  const metrics = createMetrics(SERVICE_NAME);
  const readiness = new Readiness({
    redis: async () => {
      await redis.ping();
    },
    kafka: kafkaReady.check,
  });
  const app = createHttpApp({
    logger: log,
    metrics,
    readiness,
    api: [activityRouter(verifier)],
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
  });
  let server: RunningServer | undefined;

  return {
    app,
    logger: log,
    async start() {
      await redis.connect().catch((err: unknown) => log.warn({ err }, 'redis not reachable yet; will retry'));
    },
    async listen(port = config.PORT, host = config.HOST) {
      server = await listen(app, port, host);
      log.info({ url: server.url }, 'listening');
      return server;
    },
    async stop() {
      readiness.drain();
      await server?.close(config.SHUTDOWN_GRACE_MS);
      await kafkaReady.close();
      redis.disconnect();
    },
  };
}
