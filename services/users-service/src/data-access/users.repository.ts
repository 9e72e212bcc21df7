import type { Collection, Db, Filter } from 'mongodb';
import { normalise } from './search-keys.js';
import { uniqueViolation } from './mongo.js';
import { WriteContention } from './errors.js';
import { nextSequence } from './counters.js';
import { withDocumentLock } from './document-locks.js';
import { createMissingIndexes } from './ferretdb.js';
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

/** How long a write keeps retrying a compare-and-set that other replicas keep winning (docs/users-service.md). */
export const WRITE_RETRY_MS = 10_000;

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
    await createMissingIndexes(this.collection, [
      { key: { usernameLower: 1 }, name: 'username_unique', unique: true },
      { key: { emailLower: 1 }, name: 'email_unique', unique: true },
      { key: { outboxPending: 1 }, name: 'outbox_pending' },
    ]);
  }

  nextId(): Promise<number> {
    return nextSequence(this.db, 'users');
  }

  async insert(
    id: number,
    fields: UserFields,
    now: Date,
    outbox: (user: UserDoc) => OutboxEntry[],
  ): Promise<UserDoc> {
    const doc: UserDoc = {
      _id: id,
      version: 1,
      ...fields,
      ...derived(fields),
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
    };
    const entries = outbox(doc);
    doc.outbox = Object.fromEntries(entries.map((e) => [e.id, e]));
    doc.outboxPending = entries.length > 0;
    await this.collection.insertOne(doc).catch(uniqueViolation);
    return doc;
  }

  /** Inserts many users with ids from the counter, without outbox entries (seeding). */
  async bulkInsert(list: UserFields[], now: Date): Promise<UserDoc[]> {
    const last = await nextSequence(this.db, 'users', list.length);
    const docs: UserDoc[] = list.map((fields, i) => ({
      _id: last - list.length + 1 + i,
      version: 1,
      ...fields,
      ...derived(fields),
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
      outboxPending: false,
    }));
    await this.collection.insertMany(docs, { ordered: false });
    return docs;
  }

  findById(id: number): Promise<UserDoc | null> {
    return this.collection.findOne({ _id: id, ...LIVE }, { maxTimeMS: this.timeoutMs });
  }

  /** True when a document with this id exists, deleted or not. */
  async exists(id: number): Promise<boolean> {
    return (
      (await this.collection.findOne(
        { _id: id },
        { projection: { _id: 1 }, maxTimeMS: this.timeoutMs },
      )) !== null
    );
  }

  /** Every live user, in batches (the directory's snapshot). */
  async *live(batchSize = 5000): AsyncGenerator<UserDoc> {
    // `deletedAt: null` is checked here rather than in the filter: FerretDB cannot push a null down.
    for await (const doc of this.collection.find({}, { projection: { outbox: 0 }, batchSize }))
      if (doc.deletedAt === null) yield doc;
  }

  /**
   * Reads the live user, asks `decide` for the fields to change (it may throw: a failed
   * precondition), and writes them with the version raised by one. Resolves with the new document,
   * or null when there is no such user. Runs under the document's lock, so concurrent writers queue
   * rather than race; the compare-and-set on the version still guards against a writer elsewhere
   * (another replica on MongoDB) and is retried when one got there first.
   */
  update(
    id: number,
    decide: (current: UserDoc) => Partial<UserFields>,
    now: Date,
    outbox: (user: UserDoc) => OutboxEntry[],
  ): Promise<UserDoc | null> {
    return withDocumentLock(this.collection, id, () =>
      this.untilWritten(async () => {
        const current = await this.findById(id);
        if (!current) return { done: null };
        const patch = decide(current);
        const fields: UserFields = {
          username: patch.username ?? current.username,
          email: patch.email ?? current.email,
          firstName: patch.firstName ?? current.firstName,
          lastName: patch.lastName ?? current.lastName,
          isActive: patch.isActive ?? current.isActive,
          roles: patch.roles ?? current.roles,
        };
        const { outbox: _o, outboxPending: _p, ...kept } = current;
        const next: UserDoc = {
          ...kept,
          ...fields,
          ...derived(fields),
          version: versionOf(current) + 1,
          updatedAt: now,
        };
        const { _id, ...set } = next;
        const result = await this.collection
          .updateOne(
            { _id, ...LIVE, ...atVersion(versionOf(current)) },
            { $set: { ...set, ...outboxSet(outbox(next)) } },
            { maxTimeMS: this.timeoutMs },
          )
          .catch(uniqueViolation);
        return result.matchedCount === 1 ? { done: next } : undefined;
      }),
    );
  }

  /** Marks the live user deleted (with its outbox entries) after `check` passed on it: false when there is no such user. The relay removes the document after publishing. */
  markDeleted(
    id: number,
    check: (current: UserDoc) => void,
    now: Date,
    entries: OutboxEntry[],
  ): Promise<boolean> {
    return withDocumentLock(this.collection, id, () =>
      this.untilWritten(async () => {
        const current = await this.findById(id);
        if (!current) return { done: false };
        check(current);
        const version = versionOf(current);
        const result = await this.collection.updateOne(
          { _id: id, ...LIVE, ...atVersion(version) },
          { $set: { deletedAt: now, updatedAt: now, version: version + 1, ...outboxSet(entries) } },
        );
        return result.matchedCount === 1 ? { done: true } : undefined;
      }),
    );
  }

  /** Repeats a compare-and-set that lost to a writer outside this process until it lands (undefined: lost, try again), within `WRITE_RETRY_MS`. */
  private async untilWritten<T>(attempt: () => Promise<{ done: T } | undefined>): Promise<T> {
    const deadline = Date.now() + WRITE_RETRY_MS;
    for (let n = 1; ; n++) {
      const outcome = await attempt();
      if (outcome) return outcome.done;
      if (Date.now() > deadline) throw new WriteContention(WRITE_RETRY_MS);
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(2 ** n, 50)));
    }
  }
}
