import type { Express } from 'express';
import { authSettingsFrom, createTokenVerifier } from '@suite/auth';
import { createLogger, type Logger } from '@suite/logger';
import { createHttpApp, createMetrics, listen, Readiness, type RunningServer } from '@suite/server-kit';
import type { UsersConfig } from './config.js';
import { createMongo } from './data-access/mongo.js';
import { usersRouter } from './http/users.router.js';

export const SERVICE_NAME = 'users-service';
export const SERVICE_VERSION = '0.1.0';

export interface UsersService {
  app: Express;
  logger: Logger;
  /** Connects dependencies that must be up before serving. */
  start(): Promise<void>;
  listen(port?: number, host?: string): Promise<RunningServer>;
  /** Fails readiness, drains HTTP, closes clients. */
  stop(): Promise<void>;
}

/** Builds the service from its config; nothing listens until `listen`. */
export async function createUsersService(config: UsersConfig, logger?: Logger): Promise<UsersService> {
  const log = logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
  const verifier = await createTokenVerifier(authSettingsFrom(config));
  const mongo = createMongo(config.MONGO_URL, config.MONGO_DB);
  const metrics = createMetrics(SERVICE_NAME);
  const readiness = new Readiness({
    mongo: async () => {
      await mongo.db.command({ ping: 1 }, { timeoutMS: 1500 });
    },
  });
  const app = createHttpApp({
    logger: log,
    metrics,
    readiness,
    api: [usersRouter(verifier)],
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
  });
  let server: RunningServer | undefined;

  return {
    app,
    logger: log,
    async start() {
      // Connecting lazily would also work; connecting here surfaces a bad URL at start-up.
      await mongo.client.connect().catch((err: unknown) => log.warn({ err }, 'mongo not reachable yet; will retry'));
    },
    async listen(port = config.PORT, host = config.HOST) {
      server = await listen(app, port, host);
      log.info({ url: server.url }, 'listening');
      return server;
    },
    async stop() {
      readiness.drain();
      await server?.close(config.SHUTDOWN_GRACE_MS);
      await mongo.client.close();
    },
  };
}
