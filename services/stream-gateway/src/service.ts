import { routesOf, StreamCloseCodes } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import {
  createService,
  NotReady,
  packageVersion,
  rateLimitsFrom,
  type RateLimits,
  type Service,
  warnUnreachable,
} from '@suite/server-kit';
import { clusterTarget, createRedis } from '@suite/redis';
import { ProjectionReader } from '@suite/projection-reader';
import type { GatewayConfig } from './config.js';
import { redisLiveChannels } from './data-access/live-channels.js';
import { Hub } from './domain/hub.js';
import { demoRouter } from './http/demo.router.js';
import { sseRouter } from './http/sse.router.js';
import { createStreamMetrics } from './stream.metrics.js';
import { WsGateway } from './http/websocket.gateway.js';

export const SERVICE_NAME = 'stream-gateway';
export const SERVICE_VERSION = packageVersion(import.meta.url);

/** The gateway; `stop` fails readiness, closes every stream with 1001, drains HTTP, closes Redis. */
export type GatewayService = Service;

/**
 * The gateway's Redis clients: commands, and pub/sub on its own connection (it resubscribes by
 * itself after a reconnect). On a cluster, one sharded subscriber per primary, each channel
 * SSUBSCRIBEd on its own slot's primary.
 */
function clientsOf(config: GatewayConfig, log: Logger) {
  const cluster = clusterTarget(config.REDIS_URL) !== undefined;
  const redis = createRedis(config.REDIS_URL, log, SERVICE_NAME, { autoPipelining: cluster });
  const sharded = config.PUBSUB_SHARDED || cluster;
  const subscriber = createRedis(config.REDIS_URL, log, `${SERVICE_NAME}-sub`, {
    shardedSubscriber: sharded,
  });
  return { redis, subscriber, sharded };
}

/** Ready when Redis answers and the subscriber connection is up. */
function checksOf({ redis, subscriber }: ReturnType<typeof clientsOf>) {
  return {
    redis: async () => {
      await redis.ping();
    },
    'redis-subscriber': async () => {
      if (subscriber.status !== 'ready')
        throw new NotReady(`the subscriber connection is ${subscriber.status}`);
    },
  };
}

/** What both transports check and hold at a handshake, and how their streams run. */
function streamOptions(config: GatewayConfig, rateLimits: RateLimits | undefined) {
  const handshake = {
    allowedOrigins: config.STREAM_ALLOWED_ORIGINS,
    maxConnectionsPerUser: config.STREAM_MAX_CONNECTIONS_PER_USER,
    rateLimits,
  };
  return {
    ...handshake,
    highWaterMark: config.STREAM_HIGH_WATER_MARK_BYTES,
    heartbeatMs: config.STREAM_HEARTBEAT_MS,
  };
}

/** Builds the gateway from its config; nothing listens until `listen`. */
export async function createGatewayService(
  config: GatewayConfig,
  logger?: Logger,
): Promise<GatewayService> {
  return createService(
    { name: SERVICE_NAME, version: SERVICE_VERSION },
    config,
    logger,
    ({ log, metrics, verifier, revocations }) => {
      const clients = clientsOf(config, log);
      const { redis, subscriber, sharded } = clients;
      const streamMetrics = createStreamMetrics(metrics.registry);
      const hub = new Hub(
        redisLiveChannels(subscriber, config.REDIS_KEY_PREFIX, sharded),
        log,
        (n) => streamMetrics.deliveries.inc(n),
      );
      const reader = new ProjectionReader(redis, config.REDIS_KEY_PREFIX);
      // A deactivated or deleted user's streams close at once, whoever's stream they watch.
      revocations.onRevoked((userId) =>
        hub.closeHeldBy(userId, StreamCloseCodes.tokenRevoked, 'token revoked'),
      );
      const rateLimits = rateLimitsFrom(config, redis);
      const streams = streamOptions(config, rateLimits);
      const wsOptions = { ...streams, maxPayload: config.STREAM_MAX_PAYLOAD_BYTES };
      const ws = new WsGateway(verifier, hub, reader, wsOptions, log, streamMetrics);
      return {
        http: {
          api: [sseRouter(verifier, hub, reader, streams, streamMetrics)],
          routes: routesOf('gateway'),
          root: config.DEMO_ENABLED ? [demoRouter()] : [],
          bodyLimit: '16kb',
          rateLimits,
        },
        checks: checksOf(clients),
        async start() {
          await Promise.all([
            redis.connect().catch(warnUnreachable(log, 'redis not reachable yet; will retry')),
            subscriber
              .connect()
              .catch(warnUnreachable(log, 'redis subscriber not reachable yet; will retry')),
          ]);
        },
        listening: (server) => ws.attach(server.server),
        async beforeDrain() {
          await ws.closeAll();
          // SSE streams end too (WebSockets were closed with 1001 above).
          for (const sink of hub.all())
            sink.close(StreamCloseCodes.goingAway, 'server shutting down');
        },
        async afterDrain() {
          redis.disconnect();
          subscriber.disconnect();
        },
      };
    },
  );
}
