import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';
import { authSettingsFrom, createTokenVerifier, type TokenVerifier } from '@suite/auth';
import { createLogger, type Logger } from '@suite/logger';
import { startTracing } from '@suite/telemetry';
import { createHttpApp, type HttpAppOptions } from './app.js';
import type { BaseConfig } from './config.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Readiness, type ReadinessCheck } from './readiness.js';
import { listen, type RunningServer } from './server.js';
import { createRedis } from '@suite/redis';
import { refusingRevoked, RevocationList } from './revocations.js';

/** A package's version, from the `package.json` next to its `src/` or `dist/` (one place to bump it). */
export function packageVersion(moduleUrl: string): string {
  const file = join(dirname(fileURLToPath(moduleUrl)), '..', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** What every service shares, made by the skeleton before the service's own parts. */
export interface ServiceKit {
  log: Logger;
  metrics: Metrics;
  /** Verifies tokens and refuses those of revoked (deactivated or deleted) users. */
  verifier: TokenVerifier;
  revocations: RevocationList;
}

/** A service's own parts, which the skeleton wires into one app and one lifecycle. */
export interface ServiceParts {
  http: Omit<HttpAppOptions, 'logger' | 'metrics' | 'readiness' | 'trustProxy'>;
  /** Readiness probes by dependency name. */
  checks: Record<string, ReadinessCheck>;
  /** Connects clients and starts background work (never waits for a dependency to come up). */
  start?: () => Promise<void>;
  /** Once the HTTP server listens (e.g. to take WebSocket upgrades on it). */
  listening?: (server: RunningServer) => void;
  /** After readiness turned false, before HTTP drains (e.g. close long-lived streams with 1001). */
  beforeDrain?: () => Promise<void>;
  /** After HTTP drained: stop consumers, close clients. */
  afterDrain?: () => Promise<void>;
}

export interface Service {
  app: Express;
  logger: Logger;
  start(): Promise<void>;
  listen(port?: number, host?: string): Promise<RunningServer>;
  /** Fails readiness, runs the service's drain hooks around the HTTP drain, flushes traces. */
  stop(): Promise<void>;
}

/**
 * A `.catch` for a first connection that may fail while a dependency comes up after the service:
 * logs `message` as a warning and goes on (the client reconnects by itself; readiness says so).
 */
export function warnUnreachable(log: Logger, message: string): (err: unknown) => void {
  return (err) => log.warn({ err }, message);
}

function serviceLogger(identity: { name: string; version: string }, config: BaseConfig): Logger {
  return createLogger({
    service: identity.name,
    version: identity.version,
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
  });
}

/** The revoked-token list on the service's Redis, with a subscriber connection of its own. */
function revocationList(name: string, config: BaseConfig, log: Logger): RevocationList {
  return new RevocationList(
    createRedis(config.REDIS_URL, log, `${name}-revocations`),
    createRedis(config.REDIS_URL, log, `${name}-revocations-sub`),
    config.REDIS_KEY_PREFIX,
    log,
  );
}

/**
 * The one service skeleton: logger, tracing, token verifier, metrics, readiness, the shared HTTP
 * app, and start / listen / stop in a fixed order. `parts` builds what is the service's own.
 */
export async function createService(
  identity: { name: string; version: string },
  config: BaseConfig,
  logger: Logger | undefined,
  parts: (kit: ServiceKit) => Promise<ServiceParts> | ServiceParts,
): Promise<Service> {
  const log = logger ?? serviceLogger(identity, config);
  const tracing = startTracing(identity.name, {
    endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    sampleRatio: config.OTEL_TRACES_SAMPLER_ARG,
  });
  const revocations = revocationList(identity.name, config, log);
  const verifier = refusingRevoked(
    await createTokenVerifier(authSettingsFrom(config)),
    revocations,
  );
  const metrics = createMetrics(identity.name);
  const own = await parts({ log, metrics, verifier, revocations });
  const readiness = new Readiness(own.checks, { logger: log });
  const app = createHttpApp({
    ...own.http,
    logger: log,
    metrics,
    readiness,
    trustProxy: trustProxySetting(config.TRUST_PROXY),
  });
  let server: RunningServer | undefined;
  return {
    app,
    logger: log,
    async start() {
      await revocations.start();
      await own.start?.();
    },
    async listen(port = config.PORT, host = config.HOST) {
      server = await listen(app, port, host);
      own.listening?.(server);
      log.info({ url: server.url }, 'listening');
      return server;
    },
    async stop() {
      readiness.drain();
      await own.beforeDrain?.();
      await server?.close(config.SHUTDOWN_GRACE_MS);
      await own.afterDrain?.();
      revocations.stop();
      await tracing.shutdown();
    },
  };
}

/**
 * TRUST_PROXY as Express takes it: a number is how many proxies in front are believed (`1`: only
 * the one that connects, e.g. the ingress controller), anything else a list of addresses, subnets
 * or names (`loopback`, `10.0.0.0/8`).
 */
export function trustProxySetting(value: string): string | number {
  return /^\d{1,2}$/.test(value.trim()) ? Number(value) : value;
}
