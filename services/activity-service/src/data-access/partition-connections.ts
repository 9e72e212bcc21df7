import type { RedisClient } from '@suite/redis';

/** A partition's own Redis connection, and how many times it has been lost since it opened. */
export interface PartitionConnection {
  redis: RedisClient;
  /** Incremented when the connection closes: a WATCH taken before does not hold after it. */
  drops: number;
}

/**
 * One Redis connection per partition being applied. EXEC clears every WATCH on its connection, so
 * two partitions' transactions on one connection would clear each other's; on their own
 * connections they interleave freely on the server.
 */
export class PartitionConnections {
  private readonly connections = new Map<string, Promise<PartitionConnection>>();

  constructor(private readonly open: (name: string) => RedisClient) {}

  get(topic: string, partition: number): Promise<PartitionConnection> {
    const name = `${topic}:${partition}`;
    let connection = this.connections.get(name);
    if (!connection) {
      const redis = this.open(name);
      const entry: PartitionConnection = { redis, drops: 0 };
      redis.on('close', () => (entry.drops += 1));
      connection = redis.connect().then(() => entry);
      connection.catch(() => {
        // A failed connect keeps retrying in the background: close it, the next batch opens anew.
        redis.disconnect();
        this.connections.delete(name);
      });
      this.connections.set(name, connection);
    }
    return connection;
  }

  /** Closes every connection (at shutdown, after the consumer stopped). */
  close(): void {
    for (const connection of this.connections.values()) void connection.then((c) => c.redis.disconnect(), () => undefined);
    this.connections.clear();
  }
}
