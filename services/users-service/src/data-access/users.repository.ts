import type { Collection, Db, Filter } from 'mongodb';
import { normalise, prefixUpperBound, trigrams } from './search-keys.js';
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
  usernameLower: string;
  emailLower: string;
  firstNameLower: string;
  lastNameLower: string;
  /** Trigrams of the four lower-cased fields, for substring search without regex. */
  grams: string[];
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

const LIVE: Filter<UserDoc> = { deletedAt: null };
const READ_PROJECTION = { outbox: 0, grams: 0 } as const;

function derived(fields: UserFields) {
  const lower = {
    usernameLower: normalise(fields.username),
    emailLower: normalise(fields.email),
    firstNameLower: normalise(fields.firstName),
    lastNameLower: normalise(fields.lastName),
  };
  const grams = new Set(Object.values(lower).flatMap(trigrams));
  return { ...lower, grams: [...grams] };
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
      { key: { firstNameLower: 1 }, name: 'first_name' },
      { key: { lastNameLower: 1 }, name: 'last_name' },
      { key: { grams: 1 }, name: 'search_grams' },
      { key: { outboxPending: 1 }, name: 'outbox_pending' },
    ]);
  }

  nextId(): Promise<number> {
    return nextSequence(this.db, 'users');
  }

  async insert(id: number, fields: UserFields, now: Date, outbox: (user: UserDoc) => OutboxEntry[]): Promise<UserDoc> {
    const doc: UserDoc = { _id: id, ...fields, ...derived(fields), createdAt: now, updatedAt: now, deletedAt: null };
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
      _id: last - list.length + 1 + i, ...fields, ...derived(fields), createdAt: now, updatedAt: now, deletedAt: null, outboxPending: false,
    }));
    await this.collection.insertMany(docs, { ordered: false });
  }

  findById(id: number): Promise<UserDoc | null> {
    return this.collection.findOne({ _id: id, ...LIVE }, { maxTimeMS: this.timeoutMs });
  }

  /** Applies `patch` to the stored fields under the document lock; null when the user is absent. */
  update(id: number, fields: Partial<UserFields>, now: Date, outbox: (user: UserDoc) => OutboxEntry[]): Promise<UserDoc | null> {
    return withDocumentLock(documentKey(this.collection, id), () => this.updateUnlocked(id, fields, now, outbox));
  }

  private async updateUnlocked(id: number, patch: Partial<UserFields>, now: Date, outbox: (user: UserDoc) => OutboxEntry[]): Promise<UserDoc | null> {
    const current = await this.findById(id);
    if (!current) return null;
    const fields: UserFields = {
      username: patch.username ?? current.username,
      email: patch.email ?? current.email,
      firstName: patch.firstName ?? current.firstName,
      lastName: patch.lastName ?? current.lastName,
      isActive: patch.isActive ?? current.isActive,
      roles: patch.roles ?? current.roles,
    };
    const next: UserDoc = { ...current, ...fields, ...derived(fields), updatedAt: now };
    const entries = outbox(next);
    const { _id, outbox: _o, outboxPending: _p, ...set } = next;
    const result = await this.collection.findOneAndUpdate(
      { _id, ...LIVE },
      { $set: { ...set, ...outboxSet(entries) } },
      { returnDocument: 'after', maxTimeMS: this.timeoutMs },
    ).catch(uniqueViolation);
    return result;
  }

  /** Marks the user deleted with its outbox entry; the relay removes the document after publishing. */
  async markDeleted(id: number, now: Date, entries: OutboxEntry[]): Promise<boolean> {
    const result = await withDocumentLock(documentKey(this.collection, id), () =>
      this.collection.updateOne({ _id: id, ...LIVE }, { $set: { deletedAt: now, updatedAt: now, ...outboxSet(entries) } }),
    );
    return result.matchedCount === 1;
  }

  async countLive(): Promise<number> {
    return this.collection.countDocuments(LIVE, { maxTimeMS: this.timeoutMs });
  }

  /** A page in id order (stable). */
  page(skip: number, limit: number): Promise<UserDoc[]> {
    return this.collection.find(LIVE, { projection: READ_PROJECTION, maxTimeMS: this.timeoutMs }).sort({ _id: 1 }).skip(skip).limit(limit).toArray();
  }

  /** Users whose normalised field equals `query` (exact) or starts with it (prefix). */
  searchByField(query: string, mode: 'exact' | 'prefix', cap: number): Promise<UserDoc[]> {
    const fields = ['usernameLower', 'emailLower', 'firstNameLower', 'lastNameLower'] as const;
    const match = mode === 'exact' ? query : { $gte: query, $lt: prefixUpperBound(query) };
    return this.collection
      .find({ ...LIVE, $or: fields.map((f) => ({ [f]: match }) as Filter<UserDoc>) }, { projection: READ_PROJECTION, maxTimeMS: this.timeoutMs })
      .limit(cap)
      .toArray();
  }

  /** Users whose fields contain every trigram of the query (a superset of substring matches). */
  searchByGrams(grams: string[], cap: number): Promise<UserDoc[]> {
    return this.collection.find({ ...LIVE, grams: { $all: grams } }, { projection: READ_PROJECTION, maxTimeMS: this.timeoutMs }).limit(cap).toArray();
  }
}
