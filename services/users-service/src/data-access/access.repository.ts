import type { Collection, Db, Filter } from 'mongodb';
import type { Role } from '@suite/contracts';
import { nextSequence } from './counters.js';
import { uniqueViolation } from './mongo.js';
import { withDocumentLock } from './document-locks.js';
import { createMissingIndexes } from './ferretdb.js';
import { outboxSet, type OutboxEntry, type WithOutbox } from './outbox.js';

export interface WorkspaceDoc extends WithOutbox {
  _id: number;
  name: string;
  /** Raised by one on every rename: `workspace.renamed` carries it, so a replayed rename is recognised as old. Absent before versions existed (0). */
  version?: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface GroupDoc extends WithOutbox {
  _id: number;
  name: string;
  members: number[];
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface PermissionDoc extends WithOutbox {
  _id: number;
  workspaceId: number;
  userId: number | null;
  groupId: number | null;
  role: Role;
  createdAt: Date;
  deletedAt: Date | null;
}

const LIVE = { deletedAt: null };

/** Workspaces, groups and permissions: the data behind a user's effective access. */
export class AccessRepository {
  readonly workspaces: Collection<WorkspaceDoc>;
  readonly groups: Collection<GroupDoc>;
  readonly permissions: Collection<PermissionDoc>;
  /** The live (not deleted) workspaces and groups: one by id, or a page of them with their count. */
  readonly liveWorkspaces: LiveDocs<WorkspaceDoc>;
  readonly liveGroups: LiveDocs<GroupDoc>;

  constructor(
    private readonly db: Db,
    /** Server-side time limit on every query. */
    private readonly timeoutMs: number,
  ) {
    this.workspaces = db.collection<WorkspaceDoc>('workspaces');
    this.groups = db.collection<GroupDoc>('groups');
    this.permissions = db.collection<PermissionDoc>('permissions');
    this.liveWorkspaces = new LiveDocs(this.workspaces, timeoutMs);
    this.liveGroups = new LiveDocs(this.groups, timeoutMs);
  }

  async ensureIndexes(): Promise<void> {
    await Promise.all([
      createMissingIndexes(this.workspaces, [
        { key: { name: 1 }, name: 'name' },
        { key: { outboxPending: 1 }, name: 'outbox_pending' },
      ]),
      createMissingIndexes(this.groups, [
        { key: { name: 1 }, name: 'name_unique', unique: true },
        { key: { members: 1 }, name: 'members' },
        { key: { outboxPending: 1 }, name: 'outbox_pending' },
      ]),
      createMissingIndexes(this.permissions, [
        { key: { workspaceId: 1 }, name: 'workspace' },
        { key: { userId: 1 }, name: 'user' },
        { key: { groupId: 1 }, name: 'group' },
        { key: { outboxPending: 1 }, name: 'outbox_pending' },
      ]),
    ]);
  }

  nextId(kind: 'workspaces' | 'groups' | 'permissions'): Promise<number> {
    return nextSequence(this.db, kind);
  }

  // --- workspaces ---
  async insertWorkspace(doc: WorkspaceDoc): Promise<void> {
    await this.workspaces.insertOne(doc);
  }
  workspacesByIds(ids: number[]): Promise<WorkspaceDoc[]> {
    return this.workspaces
      .find(
        { _id: { $in: ids }, ...LIVE },
        { projection: { outbox: 0 }, maxTimeMS: this.timeoutMs },
      )
      .toArray();
  }
  /** Renames a live workspace and raises its version, with the outbox entries made for that version; null when there is none. */
  renameWorkspace(
    id: number,
    name: string,
    now: Date,
    entries: (version: number) => OutboxEntry[],
  ): Promise<WorkspaceDoc | null> {
    return withDocumentLock(this.workspaces, id, async () => {
      const current = await this.liveWorkspaces.find(id);
      if (!current) return null;
      const version = (current.version ?? 0) + 1;
      return this.workspaces.findOneAndUpdate(
        { _id: id, ...LIVE },
        { $set: { name, version, updatedAt: now, ...outboxSet(entries(version)) } },
        { returnDocument: 'after', maxTimeMS: this.timeoutMs },
      );
    });
  }
  async markWorkspaceDeleted(id: number, now: Date, entries: OutboxEntry[]): Promise<boolean> {
    const r = await withDocumentLock(this.workspaces, id, () =>
      this.workspaces.updateOne(
        { _id: id, ...LIVE },
        { $set: { deletedAt: now, updatedAt: now, ...outboxSet(entries) } },
      ),
    );
    return r.matchedCount === 1;
  }

  // --- groups ---
  async insertGroup(doc: GroupDoc): Promise<void> {
    await this.groups.insertOne(doc).catch(uniqueViolation);
  }
  groupsOfUser(userId: number): Promise<GroupDoc[]> {
    return this.groups
      .find({ members: userId, ...LIVE }, { projection: { outbox: 0 }, maxTimeMS: this.timeoutMs })
      .toArray();
  }
  /** Adds or removes a member together with the outbox entry, in one document write. */
  changeMembership(
    id: number,
    userId: number,
    op: 'add' | 'remove',
    now: Date,
    entries: OutboxEntry[],
  ): Promise<'changed' | 'unchanged' | 'missing'> {
    return withDocumentLock(this.groups, id, async () => {
      const group = await this.liveGroups.find(id);
      if (!group) return 'missing';
      const has = group.members.includes(userId);
      if ((op === 'add') === has) return 'unchanged';
      const members =
        op === 'add' ? [...group.members, userId] : group.members.filter((m) => m !== userId);
      const r = await this.groups.updateOne(
        { _id: id, ...LIVE },
        { $set: { members, updatedAt: now, ...outboxSet(entries) } },
      );
      return r.matchedCount === 1 ? 'changed' : 'missing';
    });
  }
  async markGroupDeleted(id: number, now: Date, entries: OutboxEntry[]): Promise<boolean> {
    const r = await withDocumentLock(this.groups, id, () =>
      this.groups.updateOne(
        { _id: id, ...LIVE },
        { $set: { deletedAt: now, updatedAt: now, ...outboxSet(entries) } },
      ),
    );
    return r.matchedCount === 1;
  }
  async removeUserFromAllGroups(userId: number): Promise<void> {
    for (const { _id } of await this.groupsOfUser(userId)) {
      await withDocumentLock(this.groups, _id, async () => {
        const group = await this.groups.findOne({ _id }, { maxTimeMS: this.timeoutMs });
        if (group)
          await this.groups.updateOne(
            { _id },
            { $set: { members: group.members.filter((m) => m !== userId) } },
          );
      });
    }
  }

  // --- permissions ---
  async insertPermission(doc: PermissionDoc): Promise<void> {
    await this.permissions.insertOne(doc);
  }
  findPermission(workspaceId: number, id: number): Promise<PermissionDoc | null> {
    return this.permissions.findOne(
      { _id: id, workspaceId, ...LIVE },
      { projection: { outbox: 0 }, maxTimeMS: this.timeoutMs },
    );
  }
  permissionsOfWorkspace(workspaceId: number): Promise<PermissionDoc[]> {
    return this.permissions
      .find({ workspaceId, ...LIVE }, { projection: { outbox: 0 }, maxTimeMS: this.timeoutMs })
      .sort({ _id: 1 })
      .toArray();
  }
  directPermissions(userId: number): Promise<PermissionDoc[]> {
    return this.permissions
      .find({ userId, ...LIVE }, { projection: { outbox: 0 }, maxTimeMS: this.timeoutMs })
      .toArray();
  }
  groupPermissions(groupIds: number[]): Promise<PermissionDoc[]> {
    if (groupIds.length === 0) return Promise.resolve([]);
    return this.permissions
      .find(
        { groupId: { $in: groupIds }, ...LIVE },
        { projection: { outbox: 0 }, maxTimeMS: this.timeoutMs },
      )
      .toArray();
  }
  async markPermissionDeleted(
    workspaceId: number,
    id: number,
    now: Date,
    entries: OutboxEntry[],
  ): Promise<boolean> {
    const r = await withDocumentLock(this.permissions, id, () =>
      this.permissions.updateOne(
        { _id: id, workspaceId, ...LIVE },
        { $set: { deletedAt: now, ...outboxSet(entries) } },
      ),
    );
    return r.matchedCount === 1;
  }
  async deleteUserPermissions(userId: number): Promise<void> {
    await this.permissions.deleteMany({ userId });
  }
}

/** Reads of the documents not deleted, without their outbox, within the query deadline. */
class LiveDocs<T extends WorkspaceDoc | GroupDoc> {
  constructor(
    private readonly collection: Collection<T>,
    private readonly timeoutMs: number,
  ) {}

  find(id: number) {
    return this.collection.findOne({ _id: id, ...LIVE } as Filter<T>, {
      projection: { outbox: 0 },
      maxTimeMS: this.timeoutMs,
    });
  }

  /** A page in id order, and how many there are in all. */
  async page(skip: number, limit: number) {
    const [count, docs] = await Promise.all([
      this.collection.countDocuments(LIVE as Filter<T>, { maxTimeMS: this.timeoutMs }),
      this.collection
        .find(LIVE as Filter<T>, { projection: { outbox: 0 }, maxTimeMS: this.timeoutMs })
        .sort({ _id: 1 })
        .skip(skip)
        .limit(limit)
        .toArray(),
    ]);
    return { count, docs };
  }
}
