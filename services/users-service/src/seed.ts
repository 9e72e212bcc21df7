import type { Db } from 'mongodb';
import { UsersRepository, type UserFields } from './data-access/users.repository.js';

/**
 * Bulk-loads users for benchmarks and demos, in the same document shape the service writes.
 * It publishes no events (seeded users are not announced on users.events).
 */
export async function seedUsers(db: Db, count: number, make: (i: number) => UserFields, batch = 2000): Promise<void> {
  const repo = new UsersRepository(db, 60_000);
  await repo.ensureIndexes();
  for (let i = 0; i < count; i += batch) {
    const fields = Array.from({ length: Math.min(batch, count - i) }, (_, k) => make(i + k));
    await repo.bulkInsert(fields, new Date());
  }
}
