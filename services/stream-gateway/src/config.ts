import { env } from '@suite/config';
import { serviceConfig } from '@suite/server-kit';

/** Every variable stream-gateway reads (the base ones every service reads, then its own); README lists them. */
const gatewayConfig = serviceConfig(3003, {
  STREAM_ALLOWED_ORIGINS: env.list('http://127.0.0.1:8080,http://localhost:8080'),
  /** Serve the /demo console (on for local runs; the Helm chart turns it off). */
  DEMO_ENABLED: env.bool(true),
  STREAM_HIGH_WATER_MARK_BYTES: env.int(1_048_576, 1024, 64 * 1_048_576),
  STREAM_MAX_CONNECTIONS_PER_USER: env.int(10, 1, 10_000),
  STREAM_HEARTBEAT_MS: env.int(30_000, 100, 600_000),
  STREAM_MAX_PAYLOAD_BYTES: env.int(4096, 125, 1_048_576),
  /** SSUBSCRIBE instead of SUBSCRIBE; the activity-service must then publish with SPUBLISH (PUBSUB_SHARDED). */
  PUBSUB_SHARDED: env.bool(false),
});

export const gatewayConfigShape = gatewayConfig.shape;
export const loadGatewayConfig = gatewayConfig.load;
/** For the process entry point: a bad variable prints its name and exits 1. */
export const readGatewayConfigOrExit = gatewayConfig.readOrExit;
export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
