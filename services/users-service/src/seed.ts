import type { Db } from 'mongodb';
import type { RedisClient } from '@suite/redis';
import { UsersRepository, type UserFields } from './data-access/users.repository.js';
import { Directory, directoryKeys } from './directory/directory.js';
import { entryOf } from './directory/follower.js';

/**
 * Bulk-loads users for benchmarks and demos, in the same document shape the service writes, and
 * into the directory of the service that will run with `keyPrefix` on `redis`. It publishes no
 * events (seeded users are not announced on users.events).
 */
export async function seedUsers(db: Db, redis: RedisClient, keyPrefix: string, count: number, make: (i: number) => UserFields, batch = 5000): Promise<void> {
  const repo = new UsersRepository(db, 60_000);
  const directory = new Directory(redis, directoryKeys(keyPrefix));
  await repo.ensureIndexes();
  for (let i = 0; i < count; i += batch) {
    const fields = Array.from({ length: Math.min(batch, count - i) }, (_, k) => make(i + k));
    await directory.applyAll((await repo.bulkInsert(fields, new Date())).map(entryOf));
  }
}
