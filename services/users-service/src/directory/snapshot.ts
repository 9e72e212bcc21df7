import { versionOf, type UserDoc, type UsersRepository } from '../data-access/users.repository.js';
import { toProfile } from '../data-access/user-views.js';
import { directoryEntry, type Directory, type DirectoryEntry } from './directory.js';

/** A stored user as the directory keeps it. */
export function entryOf(doc: UserDoc): DirectoryEntry {
  return directoryEntry(toProfile(doc), versionOf(doc));
}

const SNAPSHOT_BATCH = 5000;

/**
 * Loads every live user of MongoDB into the directory (newer versions already there win) and marks
 * it built: the number of users read, or undefined when `stopped` said to give up first.
 */
export async function loadSnapshot(
  users: UsersRepository,
  directory: Directory,
  stopped: () => boolean = () => false,
): Promise<number | undefined> {
  let batch: DirectoryEntry[] = [];
  let count = 0;
  for await (const doc of users.live(SNAPSHOT_BATCH)) {
    batch.push(entryOf(doc));
    if (batch.length >= SNAPSHOT_BATCH) {
      await directory.applyAll(batch);
      count += batch.length;
      batch = [];
      if (stopped()) return undefined;
    }
  }
  await directory.applyAll(batch);
  await directory.markBuilt();
  return count + batch.length;
}
