import { Cluster, Redis, type ClusterNode, type RedisOptions as IORedisOptions } from 'ioredis';
import type { Logger } from '@suite/logger';
import { backoffMs } from '@suite/contracts';

export interface RedisOptions {
  /**
   * ioredis auto-pipelining: commands issued in the same tick go out in one write. On the
   * activity-service's read connection (with reads already batched per turn) it measured 108-124 µs
   * of server CPU per count request against 129-168 µs without (bench/activity-reads.bench.ts).
   */
  autoPipelining?: boolean;
  /** A command without a reply after this long fails (a hung server answers 503 instead of holding requests). */
  commandTimeoutMs?: number;
  /** On a cluster: SSUBSCRIBE through one subscriber per shard (ioredis `shardedSubscribers`). */
  shardedSubscriber?: boolean;
}

/** Error texts of ioredis when the server is unreachable or does not answer. */
const UNREACHABLE =
  /Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|connect ETIMEDOUT/;

/** True when `err` says Redis cannot be reached now (as opposed to a command error). */
export function isRedisUnavailable(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === 'MaxRetriesPerRequestError' || UNREACHABLE.test(err.message))
  );
}

/** One Redis, or a Redis Cluster: every service talks to either through the same commands. */
export type RedisClient = Redis | Cluster;

/** What a `REDIS_URL` of the cluster form names: its seed nodes, TLS, and credentials. */
export interface ClusterTarget {
  nodes: ClusterNode[];
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
}

/**
 * `redis-cluster://[user:password@]host:port,host:port,…` (or `rediss-cluster://` for TLS) names a
 * Redis Cluster by its seed nodes; any other URL is one Redis. Undefined for the latter.
 */
export function clusterTarget(url: string): ClusterTarget | undefined {
  const match = /^(rediss?)-cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/.exec(url);
  if (!match) return undefined;
  const [, scheme, auth, hosts] = match;
  const colon = auth?.indexOf(':') ?? -1;
  const nodes = hosts!.split(',').map((node) => {
    const at = node.lastIndexOf(':');
    const port = Number(node.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535)
      throw new Error(`REDIS_URL: cluster seed node "${node}" is not host:port`);
    return { host: node.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port };
  });
  return {
    nodes,
    tls: scheme === 'rediss',
    username:
      auth === undefined
        ? undefined
        : decodeURIComponent(colon < 0 ? '' : auth.slice(0, colon)) || undefined,
    password:
      auth === undefined
        ? undefined
        : decodeURIComponent(colon < 0 ? auth : auth.slice(colon + 1)) || undefined,
  };
}

/** True when the client talks to a Redis Cluster. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** The primaries of a cluster, or the one Redis: what a key scan must cover. */
export function primaries(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}

/**
 * A Redis client that fails fast while disconnected (so readiness tells the truth) and reconnects
 * forever. It connects lazily: call `connect()` at start-up. A `redis-cluster://` URL gives an
 * ioredis Cluster (reads and writes on the primaries, sharded pub/sub on each slot's primary).
 */
export function createRedis(
  url: string,
  logger: Logger,
  name: string,
  options: RedisOptions = {},
): RedisClient {
  const perNode: IORedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    ...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {}),
  };
  const cluster = clusterTarget(url);
  const client: RedisClient = cluster
    ? new Cluster(cluster.nodes, {
        lazyConnect: true,
        enableOfflineQueue: false,
        enableAutoPipelining: options.autoPipelining ?? false,
        scaleReads: 'master',
        shardedSubscribers: options.shardedSubscriber ?? false,
        clusterRetryStrategy: (attempt) => backoffMs(attempt, 100, 2000),
        redisOptions: {
          ...perNode,
          ...(cluster.tls ? { tls: {} } : {}),
          username: cluster.username,
          password: cluster.password,
        },
      })
    : new Redis(url, {
        ...perNode,
        lazyConnect: true,
        enableOfflineQueue: false,
        enableAutoPipelining: options.autoPipelining ?? false,
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
