import type { Collection, Db, Filter } from 'mongodb';
import { normalise } from './search-keys.js';
import { uniqueViolation } from './mongo.js';
import { nextSequence } from './counters.js';
import { documentKey, withDocumentLock } from './document-locks.js';
import { ensureIndexes } from './indexes.js';
import { outboxSet, type OutboxEntry, type WithOutbox } from './outbox.js';

export interface UserFields {
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  isActive: boolean;
  roles: string[];
}

export interface UserDoc extends UserFields, WithOutbox {
  _id: number;
  /**
   * Raised by one on every write: updates and deletions are compare-and-sets on it. Documents
   * written before versions existed have none and read as version 0.
   */
  version?: number;
  usernameLower: string;
  emailLower: string;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

const LIVE: Filter<UserDoc> = { deletedAt: null };

/** The version a document has (0 before versions existed). */
export function versionOf(doc: UserDoc): number {
  return doc.version ?? 0;
}

/** The filter that matches a document only while it still has `version`. */
function atVersion(version: number): Filter<UserDoc> {
  return version === 0 ? { version: { $exists: false } } : { version };
}

function derived(fields: UserFields) {
  return { usernameLower: normalise(fields.username), emailLower: normalise(fields.email) };
}

/** Stores users; every write that other services must hear about carries its outbox entries. */
export class UsersRepository {
  readonly collection: Collection<UserDoc>;
  constructor(
    private readonly db: Db,
    /** Server-side time limit on every query. */
    private readonly timeoutMs: number,
  ) {
    this.collection = db.collection<UserDoc>('users');
  }

  async ensureIndexes(): Promise<void> {
    await ensureIndexes(this.collection, [
      { key: { usernameLower: 1 }, name: 'username_unique', unique: true },
      { key: { emailLower: 1 }, name: 'email_unique', unique: true },
      { key: { outboxPending: 1 }, name: 'outbox_pending' },
    ]);
  }

  nextId(): Promise<number> {
    return nextSequence(this.db, 'users');
  }

  async insert(id: number, fields: UserFields, now: Date, outbox: (user: UserDoc) => OutboxEntry[]): Promise<UserDoc> {
    const doc: UserDoc = { _id: id, version: 1, ...fields, ...derived(fields), createdAt: now, updatedAt: now, deletedAt: null };
    const entries = outbox(doc);
    doc.outbox = Object.fromEntries(entries.map((e) => [e.id, e]));
    doc.outboxPending = entries.length > 0;
    await this.collection.insertOne(doc).catch(uniqueViolation);
    return doc;
  }

  /** Inserts many users with ids from the counter, without outbox entries (seeding). */
  async bulkInsert(list: UserFields[], now: Date): Promise<void> {
    const last = await nextSequence(this.db, 'users', list.length);
    const docs: UserDoc[] = list.map((fields, i) => ({
      _id: last - list.length + 1 + i, version: 1, ...fields, ...derived(fields), createdAt: now, updatedAt: now, deletedAt: null, outboxPending: false,
    }));
    await this.collection.insertMany(docs, { ordered: false });
  }

  findById(id: number): Promise<UserDoc | null> {
    return this.collection.findOne({ _id: id, ...LIVE }, { maxTimeMS: this.timeoutMs });
  }

  /** True when a document with this id exists, deleted or not. */
  async exists(id: number): Promise<boolean> {
    return (await this.collection.findOne({ _id: id }, { projection: { _id: 1 }, maxTimeMS: this.timeoutMs })) !== null;
  }

  /** Every live user, in batches (the directory's snapshot). */
  async *live(batchSize = 5000): AsyncGenerator<UserDoc> {
    // `deletedAt: null` is checked here rather than in the filter: FerretDB cannot push a null down.
    for await (const doc of this.collection.find({}, { projection: { outbox: 0 }, batchSize })) if (doc.deletedAt === null) yield doc;
  }

  /**
   * Writes `patch` over `current` if the stored user still has `current`'s version: the new
   * document, or null when another write got there first (or the user is gone).
   */
  compareAndSet(current: UserDoc, patch: Partial<UserFields>, now: Date, outbox: (user: UserDoc) => OutboxEntry[]): Promise<UserDoc | null> {
    return withDocumentLock(documentKey(this.collection, current._id), async () => {
      const fields: UserFields = {
        username: patch.username ?? current.username,
        email: patch.email ?? current.email,
        firstName: patch.firstName ?? current.firstName,
        lastName: patch.lastName ?? current.lastName,
        isActive: patch.isActive ?? current.isActive,
        roles: patch.roles ?? current.roles,
      };
      const { outbox: _o, outboxPending: _p, ...kept } = current;
      const next: UserDoc = { ...kept, ...fields, ...derived(fields), version: versionOf(current) + 1, updatedAt: now };
      const { _id, ...set } = next;
      const result = await this.collection
        .updateOne({ _id, ...LIVE, ...atVersion(versionOf(current)) }, { $set: { ...set, ...outboxSet(outbox(next)) } }, { maxTimeMS: this.timeoutMs })
        .catch(uniqueViolation);
      return result.matchedCount === 1 ? next : null;
    });
  }

  /** Marks the user deleted, with its outbox entry, if it still has `version`; the relay removes the document after publishing. */
  async markDeleted(id: number, version: number, now: Date, entries: OutboxEntry[]): Promise<boolean> {
    const result = await withDocumentLock(documentKey(this.collection, id), () =>
      this.collection.updateOne({ _id: id, ...LIVE, ...atVersion(version) }, { $set: { deletedAt: now, updatedAt: now, version: version + 1, ...outboxSet(entries) } }),
    );
    return result.matchedCount === 1;
  }
}
