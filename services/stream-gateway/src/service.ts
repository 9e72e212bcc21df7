import type { Express } from 'express';
import { authSettingsFrom, createTokenVerifier } from '@suite/auth';
import { createLogger, type Logger } from '@suite/logger';
import { createHttpApp, createMetrics, listen, Readiness, type RunningServer } from '@suite/server-kit';
import type { GatewayConfig } from './config.js';
import { createRedis } from './data-access/redis.js';
import { streamRouter } from './http/stream.router.js';

export const SERVICE_NAME = 'stream-gateway';
export const SERVICE_VERSION = '0.1.0';

export interface GatewayService {
  app: Express;
  logger: Logger;
  start(): Promise<void>;
  listen(port?: number, host?: string): Promise<RunningServer>;
  stop(): Promise<void>;
}

/** Builds the gateway from its config; nothing listens until `listen`. */
export async function createGatewayService(config: GatewayConfig, logger?: Logger): Promise<GatewayService> {
  const log = logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
  const verifier = await createTokenVerifier(authSettingsFrom(config));
  const redis = createRedis(config.REDIS_URL, log, SERVICE_NAME);
  const metrics = createMetrics(SERVICE_NAME);
  const readiness = new Readiness({
    redis: async () => {
      await redis.ping();
    },
  });
  const app = createHttpApp({
    logger: log,
    metrics,
    readiness,
    api: [streamRouter(verifier)],
    bodyLimit: '16kb',
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
      redis.disconnect();
    },
  };
}
