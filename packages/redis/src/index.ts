import { Redis } from 'ioredis';
import type { Logger } from '@suite/logger';
import { backoffMs } from '@suite/contracts';

export interface RedisOptions {
  /**
   * For WATCH/MULTI/EXEC: commands in flight when the connection drops fail instead of being sent
   * again on the new connection, where the WATCH no longer holds.
   */
  transactional?: boolean;
  /**
   * ioredis auto-pipelining: commands issued in the same tick go out in one write. On the
   * activity-service's read connection (with reads already batched per turn) it measured 108-124 µs
   * of server CPU per count request against 129-168 µs without (bench/activity-reads.bench.ts).
   */
  autoPipelining?: boolean;
  /** A command without a reply after this long fails (a hung server answers 503 instead of holding requests). */
  commandTimeoutMs?: number;
}

/** Error texts of ioredis when the server is unreachable or does not answer. */
const UNREACHABLE = /Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|connect ETIMEDOUT/;

/** True when `err` says Redis cannot be reached now (as opposed to a command error). */
export function isRedisUnavailable(err: unknown): boolean {
  return err instanceof Error && (err.name === 'MaxRetriesPerRequestError' || UNREACHABLE.test(err.message));
}

/**
 * A Redis client that fails fast while disconnected (so readiness tells the truth) and reconnects
 * forever. It connects lazily: call `connect()` at start-up.
 */
export function createRedis(url: string, logger: Logger, name: string, options: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: !options.transactional,
    maxRetriesPerRequest: options.transactional ? 0 : 1,
    enableAutoPipelining: options.autoPipelining ?? false,
    connectTimeout: 2000,
    ...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {}),
    retryStrategy: (attempt) => backoffMs(attempt, 100, 2000),
  });
  let reported = false;
  client.on('error', (err) => {
    if (!reported) logger.warn({ err }, 'redis connection error; reconnecting');
    reported = true;
  });
  client.on('ready', () => {
    if (reported) logger.info('redis connection restored');
    reported = false;
  });
  return client;
}
