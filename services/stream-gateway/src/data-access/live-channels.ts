import type { RedisClient } from '@suite/redis';
import { ProjectionKeys, liveChannelUser } from '@suite/contracts';

/** Per-user live channels, as the hub sees them: the Redis pub/sub behind them stays here. */
export interface LiveChannels {
  subscribe(userId: number): Promise<unknown>;
  unsubscribe(userId: number): Promise<unknown>;
  /** Every message on a subscribed channel, with the user it is for. */
  onMessage(handler: (userId: number, payload: string) => void): void;
  /** The subscriber connection is back after a drop (messages published meanwhile are gone). */
  onReconnect(handler: () => void): void;
}

/**
 * Redis pub/sub on one subscriber connection; with `sharded`, SSUBSCRIBE (Redis Cluster: each
 * channel lives on its key's shard). ioredis resubscribes by itself after a reconnect.
 */
export function redisLiveChannels(
  subscriber: RedisClient,
  prefix: string,
  sharded: boolean,
): LiveChannels {
  const channel = (userId: number) => ProjectionKeys.liveChannel(prefix, userId);
  return {
    subscribe: (userId) =>
      sharded ? subscriber.ssubscribe(channel(userId)) : subscriber.subscribe(channel(userId)),
    unsubscribe: (userId) =>
      sharded ? subscriber.sunsubscribe(channel(userId)) : subscriber.unsubscribe(channel(userId)),
    onMessage(handler) {
      subscriber.on(sharded ? 'smessage' : 'message', (name: string, payload: string) => {
        const userId = liveChannelUser(name);
        if (userId !== undefined) handler(userId, payload);
      });
    },
    onReconnect(handler) {
      let connectedOnce = false;
      subscriber.on('ready', () => {
        if (connectedOnce) handler();
        connectedOnce = true;
      });
    },
  };
}
