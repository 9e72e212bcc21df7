import type { Redis } from 'ioredis';

/** Deletes every projection key under `prefix` (users, workspaces, offsets, layout); returns how many. */
export async function dropProjections(redis: Redis, prefix: string): Promise<number> {
  let dropped = 0;
  for (const pattern of [`${prefix}u:*`, `${prefix}ws:*`, `${prefix}offsets`, `${prefix}layout`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) dropped += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  return dropped;
}
