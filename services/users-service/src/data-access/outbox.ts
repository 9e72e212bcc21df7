import { randomUUID } from 'node:crypto';
import type { Collection, Document } from 'mongodb';
import { withDocumentLock } from './document-locks.js';

/**
 * The outbox lives inside the document the use case writes, so the state change and the
 * event to publish are one single-document atomic write (FerretDB has no transactions).
 * Entries are a map keyed by id, removed with `$unset` after Kafka acknowledges them.
 */
export type OutboxEntry =
  | {
      id: string;
      seq: number;
      kind: 'event';
      topic: 'users.events';
      key: string;
      event: Record<string, unknown>;
    }
  | { id: string; seq: number; kind: 'access'; userIds: number[]; groupId?: number };

export interface WithOutbox {
  outbox?: Record<string, OutboxEntry>;
  outboxPending?: boolean;
}

let seqCounter = 0;

/** Builds an entry with a stable id; `seq` orders entries written to the same document. */
type EntryBody = OutboxEntry extends infer E
  ? E extends OutboxEntry
    ? Omit<E, 'id' | 'seq'>
    : never
  : never;

export function outboxEntry(entry: EntryBody): OutboxEntry {
  seqCounter = (seqCounter + 1) % 1000;
  return { ...entry, id: randomUUID(), seq: Date.now() * 1000 + seqCounter } as OutboxEntry;
}

/** `$set` fields that append entries to a document's outbox. */
export function outboxSet(entries: OutboxEntry[]): Record<string, unknown> {
  const set: Record<string, unknown> = { outboxPending: true };
  for (const e of entries) set[`outbox.${e.id}`] = e;
  return set;
}

/** Removes published entries; clears the pending flag only when nothing else was appended meanwhile. */
export async function removeOutboxEntries<T extends Document & WithOutbox>(
  collection: Collection<T>,
  id: unknown,
  entryIds: string[],
): Promise<void> {
  const unset: Record<string, ''> = {};
  for (const e of entryIds) unset[`outbox.${e}`] = '';
  await withDocumentLock(collection, id, async () => {
    await collection.updateOne({ _id: id } as never, { $unset: unset } as never);
    await collection.updateOne(
      { _id: id, outbox: {} } as never,
      { $set: { outboxPending: false } } as never,
    );
  });
}
