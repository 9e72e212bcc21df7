import type { Db } from 'mongodb';
import type { RedisClient } from '@suite/redis';
import { UsersRepository, type UserFields } from './data-access/users.repository.js';
import { Directory, directoryKeys } from './directory/directory.js';
import { entryOf, loadSnapshot } from './directory/snapshot.js';

/**
 * Bulk-loads users for benchmarks and demos, in the same document shape the service writes, and
 * into the directory of the service that will run with `keyPrefix` on `redis`. It publishes no
 * events (seeded users are not announced on users.events).
 */
export async function seedUsers(
  db: Db,
  redis: RedisClient,
  keyPrefix: string,
  count: number,
  make: (i: number) => UserFields,
  batch = 5000,
): Promise<void> {
  const repo = new UsersRepository(db, 60_000);
  const directory = new Directory(redis, directoryKeys(keyPrefix));
  await repo.ensureIndexes();
  // The directory is whole afterwards only if it held everyone before (or there was no one).
  const whole = (await directory.built()) || (await repo.collection.estimatedDocumentCount()) === 0;
  for (let i = 0; i < count; i += batch) {
    const fields = Array.from({ length: Math.min(batch, count - i) }, (_, k) => make(i + k));
    await directory.seed((await repo.bulkInsert(fields, new Date())).map(entryOf));
  }
  if (whole) await directory.markBuilt();
}

/**
 * Builds the directory of the service that will run with `keyPrefix` from a snapshot of `db`,
 * unless it is built: the number of users loaded, or undefined when there was nothing to do.
 */
export async function buildDirectory(
  db: Db,
  redis: RedisClient,
  keyPrefix: string,
): Promise<number | undefined> {
  const directory = new Directory(redis, directoryKeys(keyPrefix));
  if (await directory.built()) return undefined;
  return loadSnapshot(new UsersRepository(db, 60_000), directory);
}
