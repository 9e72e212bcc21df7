import type { Collection, Document, IndexDescription } from 'mongodb';

/**
 * Creates the indexes a collection lacks, by name. MongoDB treats re-creating an identical
 * index as a no-op, but FerretDB 1.24 panics on a createIndexes whose indexes already exist, so
 * a restarted service would never become ready: ask for the missing ones only.
 */
export async function ensureIndexes<T extends Document>(collection: Collection<T>, specs: (IndexDescription & { name: string })[]): Promise<void> {
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
