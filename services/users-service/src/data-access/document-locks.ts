/**
 * Serialises writes to one document within this process.
 *
 * MongoDB makes every single-document update atomic. FerretDB 1.24 does not under
 * concurrency (measured: 50 concurrent `$inc` on one document leave 1 or 2 on both its
 * SQLite and PostgreSQL backends), so the outbox and the id counters would lose writes.
 * Queuing writes per document in-process restores the guarantee for a single replica on
 * FerretDB; several replicas need a real MongoDB (docs/users-service.md).
 */
const tails = new Map<string, Promise<unknown>>();

export function withDocumentLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const next = previous.then(work, work);
  const tail = next.catch(() => undefined);
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return next;
}

/** The lock key of a document: database, collection and id. */
export function documentKey(collection: { dbName: string; collectionName: string }, id: unknown): string {
  return `${collection.dbName}/${collection.collectionName}/${String(id)}`;
}
