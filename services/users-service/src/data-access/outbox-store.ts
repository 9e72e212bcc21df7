import type { Collection } from 'mongodb';
import type { AccessRepository } from './access.repository.js';
import { nextSequence } from './counters.js';
import { withDocumentLock } from './document-locks.js';
import { removeOutboxEntries, type WithOutbox } from './outbox.js';
import type { UsersRepository } from './users.repository.js';

/** A document with outbox entries still to publish. */
export interface PendingDoc extends WithOutbox {
  _id: number;
  deletedAt: Date | null;
}

export type OutboxKind = 'users' | 'workspaces' | 'groups' | 'permissions';

/**
 * What the outbox relay reads and writes, over the repositories' collections: pending documents,
 * the removal of published entries, the purge of a deleted document once its events are out, and
 * the access-version counter. The relay itself touches no collection.
 */
export class OutboxStore {
  private readonly collections: Record<OutboxKind, Collection<PendingDoc>>;

  constructor(
    private readonly users: UsersRepository,
    private readonly access: AccessRepository,
  ) {
    const pendingView = (c: Collection<never>) => c as unknown as Collection<PendingDoc>;
    this.collections = {
      users: pendingView(users.collection as never),
      workspaces: pendingView(access.workspaces as never),
      groups: pendingView(access.groups as never),
      permissions: pendingView(access.permissions as never),
    };
  }

  readonly kinds: OutboxKind[] = ['users', 'workspaces', 'groups', 'permissions'];

  /**
   * Up to `limit` documents of `kind` with entries to publish, in no particular order: a sort would
   * make FerretDB read and sort every pending document first (674 ms at 3,700 pending), where the
   * plain filter stops after `limit`. Order matters only within a document, where entries carry `seq`.
   */
  pending(kind: OutboxKind, limit: number): Promise<PendingDoc[]> {
    return this.collections[kind].find({ outboxPending: true }).limit(limit).toArray();
  }

  /** Those of `ids` (documents of `kind`) with entries to publish: one `_id` lookup each, whatever the backlog. */
  async pendingByIds(kind: OutboxKind, ids: number[]): Promise<PendingDoc[]> {
    const docs = await Promise.all(
      ids.map((id) => this.collections[kind].findOne({ _id: id, outboxPending: true })),
    );
    return docs.filter((d): d is NonNullable<typeof d> => d !== null) as PendingDoc[];
  }

  /** How many documents of `kind` wait, counted up to `limit` (undefined when the database does not answer). */
  countPending(kind: OutboxKind, limit: number): Promise<number | undefined> {
    return this.collections[kind]
      .countDocuments({ outboxPending: true }, { limit, maxTimeMS: 2000 })
      .catch(() => undefined);
  }

  /** Removes entries that are out. */
  published(kind: OutboxKind, id: number, entryIds: string[]): Promise<void> {
    return removeOutboxEntries(this.collections[kind], id, entryIds);
  }

  /** Once a deletion's events are out, the tombstone and what hangs off it go. */
  async purge(kind: OutboxKind, id: number): Promise<void> {
    if (kind === 'users')
      await Promise.all([
        this.access.deleteUserPermissions(id),
        this.access.removeUserFromAllGroups(id),
      ]);
    else if (kind === 'workspaces') await this.access.permissions.deleteMany({ workspaceId: id });
    else if (kind === 'groups') await this.access.permissions.deleteMany({ groupId: id });
    const collection = this.collections[kind];
    await withDocumentLock(collection, id, () =>
      collection.deleteOne({ _id: id, outboxPending: false } as never),
    );
  }

  /** A group's members, whatever its state (a deleted group's members lose its access). */
  async groupMembers(groupId: number): Promise<number[]> {
    return (await this.access.groups.findOne({ _id: groupId }))?.members ?? [];
  }

  /** The next access-change version: taken before the state is read, so the highest version carries the newest state. */
  nextAccessVersion(): Promise<number> {
    return nextSequence(this.users.collection.db, 'access-version');
  }
}
