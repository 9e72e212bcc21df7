import type { Express } from 'express';
import { routesOf, StreamCloseCodes } from '@suite/contracts';
import { authSettingsFrom, createTokenVerifier } from '@suite/auth';
import { createLogger, type Logger } from '@suite/logger';
import { startTracing } from '@suite/telemetry';
import { createHttpApp, NotReady, rateLimitsFrom, createMetrics, listen, Readiness, type RunningServer } from '@suite/server-kit';
import type { GatewayConfig } from './config.js';
import { createRedis } from '@suite/redis';
import { Hub } from './domain/hub.js';
import { ProjectionReader } from '@suite/projection-reader';
import { demoRouter } from './http/demo.router.js';
import { sseRouter } from './http/sse.router.js';
import { createStreamMetrics } from './stream.metrics.js';
import { WsGateway } from './ws/stream.gateway.js';

export const SERVICE_NAME = 'stream-gateway';
export const SERVICE_VERSION = '0.1.0';

export interface GatewayService {
  app: Express;
  logger: Logger;
  start(): Promise<void>;
  listen(port?: number, host?: string): Promise<RunningServer>;
  /** Fails readiness, closes every stream with 1001, drains HTTP, closes Redis. */
  stop(): Promise<void>;
}

/** Builds the gateway from its config; nothing listens until `listen`. */
export async function createGatewayService(config: GatewayConfig, logger?: Logger): Promise<GatewayService> {
  const log = logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const tracing = startTracing(SERVICE_NAME, { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, sampleRatio: config.OTEL_TRACES_SAMPLER_ARG });
  const verifier = await createTokenVerifier(authSettingsFrom(config));
  const redis = createRedis(config.REDIS_URL, log, SERVICE_NAME);
  // Pub/sub needs its own connection; it resubscribes by itself after a reconnect.
  const subscriber = createRedis(config.REDIS_URL, log, `${SERVICE_NAME}-sub`);
  const metrics = createMetrics(SERVICE_NAME);
  const streamMetrics = createStreamMetrics(metrics.registry);
  const hub = new Hub(subscriber, config.REDIS_KEY_PREFIX, log, (n) => streamMetrics.deliveries.inc(n), config.PUBSUB_SHARDED);
  const reader = new ProjectionReader(redis, config.REDIS_KEY_PREFIX);
  const rateLimits = rateLimitsFrom(config, redis);
  const handshake = { allowedOrigins: config.STREAM_ALLOWED_ORIGINS, maxConnectionsPerUser: config.STREAM_MAX_CONNECTIONS_PER_USER, rateLimits };
  const ws = new WsGateway(
    verifier,
    hub,
    reader,
    { ...handshake, highWaterMark: config.STREAM_HIGH_WATER_MARK_BYTES, heartbeatMs: config.STREAM_HEARTBEAT_MS, maxPayload: config.STREAM_MAX_PAYLOAD_BYTES },
    log,
    streamMetrics,
  );
  const readiness = new Readiness({
    redis: async () => {
      await redis.ping();
    },
    'redis-subscriber': async () => {
      if (subscriber.status !== 'ready') throw new NotReady(`subscriber connection is ${subscriber.status}`);
    },
  }, { logger: log });
  const app = createHttpApp({
    logger: log,
    metrics,
    readiness,
    api: [sseRouter(verifier, hub, reader, { ...handshake, highWaterMark: config.STREAM_HIGH_WATER_MARK_BYTES, heartbeatMs: config.STREAM_HEARTBEAT_MS }, streamMetrics)],
    routes: routesOf('gateway'),
    root: [demoRouter()],
    bodyLimit: '16kb',
    trustProxy: config.TRUST_PROXY,
    rateLimits,
  });
  let server: RunningServer | undefined;

  return {
    app,
    logger: log,
    async start() {
      await Promise.all([
        redis.connect().catch((err: unknown) => log.warn({ err }, 'redis not reachable yet; will retry')),
        subscriber.connect().catch((err: unknown) => log.warn({ err }, 'redis subscriber not reachable yet; will retry')),
      ]);
    },
    async listen(port = config.PORT, host = config.HOST) {
      server = await listen(app, port, host);
      ws.attach(server.server);
      log.info({ url: server.url }, 'listening');
      return server;
    },
    async stop() {
      readiness.drain();
      await ws.closeAll();
      // SSE streams end too (WebSockets were closed with 1001 above).
      for (const sink of hub.all()) sink.close(StreamCloseCodes.goingAway, 'server shutting down');
      await server?.close(config.SHUTDOWN_GRACE_MS);
      redis.disconnect();
      subscriber.disconnect();
      await tracing.shutdown();
    },
  };
}
