import { Redis } from 'ioredis';
import type { Logger } from '@suite/logger';

/**
 * A Redis client that fails fast while disconnected (so readiness tells the truth) and reconnects
 * forever. It connects lazily: call `connect()` at start-up.
 */
export function createRedis(url: string, logger: Logger, name: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
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
