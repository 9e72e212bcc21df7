import type { Collection, Db, Document, IndexDescription } from 'mongodb';

/*
 * What FerretDB 1.24 needs beyond MongoDB, in one place. Everything here is also right on MongoDB
 * (where it costs nothing or is skipped); nothing above data-access knows which server it talks to.
 * Elsewhere: the per-document lease (`document-locks.ts`) is taken only when `isFerretDb` says so,
 * and the local server's index twins are in infra/local (`ferretdb-gin.sql`).
 */

/** Whether the server is FerretDB (it says so in buildInfo); its single-document updates are not atomic. */
export async function isFerretDb(db: Db): Promise<boolean> {
  return 'ferretdbVersion' in (await db.command({ buildInfo: 1 }));
}

/**
 * A unique-index violation as a MongoDB-wire server on SQL reports it for an update: FerretDB v1
 * answers a findAndModify that breaks a unique index with a generic error whose message carries
 * the SQL constraint failure and the index name (MongoDB says code 11000).
 */
export function isSqlUniqueViolation(message: string): boolean {
  return /UNIQUE constraint failed|violates unique constraint/.test(message);
}

/**
 * Creates the indexes a collection lacks, by name. MongoDB treats re-creating an identical
 * index as a no-op, but FerretDB 1.24 panics on a createIndexes whose indexes already exist, so
 * a restarted service would never become ready: ask for the missing ones only.
 */
export async function createMissingIndexes<T extends Document>(
  collection: Collection<T>,
  specs: (IndexDescription & { name: string })[],
): Promise<void> {
  const existing = new Set(
    await collection.indexes().then(
      (list) => list.map((i) => i.name),
      // A collection that does not exist yet has no indexes.
      (err: { code?: number }) => {
        if (err.code === 26) return [];
        throw err;
      },
    ),
  );
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length > 0) await collection.createIndexes(missing);
}
