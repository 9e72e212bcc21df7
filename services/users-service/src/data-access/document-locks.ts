import { randomUUID } from 'node:crypto';
import type { Collection, Db, Document } from 'mongodb';
import { WriteContention } from './errors.js';
import { isFerretDb } from './ferretdb.js';
import { isDuplicateKey } from './mongo.js';

/**
 * Serialises writes to one document: the adapter for MongoDB-wire servers whose single-document
 * updates are not atomic.
 *
 * MongoDB makes every single-document update atomic, and a compare-and-set on a version is enough
 * between replicas. FerretDB 1.24 does not (measured: 50 concurrent `$inc` on one document leave 1
 * or 2 on both its SQLite and PostgreSQL backends; its updates read, change and write back the
 * whole document). So every write to a document goes through two gates:
 * - in this service instance, a queue per document: writes wait for each other instead of losing
 *   a compare-and-set to each other;
 * - on FerretDB only, a lease shared by every replica: a document in `document_leases` whose `_id`
 *   is the document's key. Inserting it is atomic on any server (a unique `_id`), so only one
 *   replica at a time reads, changes and writes the document. A lease a crashed replica left is
 *   taken over after `LEASE_MS`.
 */
export const LEASE_MS = 10_000;

/** How long a write waits for another replica's lease before the request fails as unavailable. */
const LEASE_WAIT_MS = 30_000;

interface LeaseDoc {
  _id: string;
  owner: string;
  until: Date;
}

/** Runs work on the same key one at a time, in arrival order, whether earlier work failed or not. */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

class DocumentLocks {
  private readonly queue = new KeyedQueue();
  private leased?: Promise<boolean>;
  private readonly leases: Collection<LeaseDoc>;

  constructor(private readonly db: Db) {
    this.leases = db.collection<LeaseDoc>('document_leases');
  }

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.queue.run(key, () => this.underLease(key, work));
  }

  /** True on a server whose updates need the lease (FerretDB). */
  private needsLease(): Promise<boolean> {
    this.leased ??= isFerretDb(this.db).catch((err: unknown) => {
      this.leased = undefined; // asked again next time
      throw err;
    });
    return this.leased;
  }

  private async underLease<T>(key: string, work: () => Promise<T>): Promise<T> {
    if (!(await this.needsLease())) return work();
    const owner = randomUUID();
    const deadline = Date.now() + LEASE_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.leases.insertOne({ _id: key, owner, until: new Date(Date.now() + LEASE_MS) });
        break;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const held = await this.leases.findOne({ _id: key });
        if (held && held.until.getTime() < Date.now())
          await this.leases.deleteOne({ _id: key, owner: held.owner });
        if (Date.now() > deadline) throw new WriteContention(LEASE_WAIT_MS);
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(2 ** attempt, 20)));
      }
    }
    try {
      return await work();
    } finally {
      await this.leases.deleteOne({ _id: key, owner }).catch(() => undefined); // expires by itself otherwise
    }
  }
}

const byDb = new WeakMap<Db, DocumentLocks>();

/** Runs `work` (a read-change-write of one document) while no other write to that document runs, in this instance or another replica. */
export function withDocumentLock<T, D extends Document>(
  collection: Collection<D>,
  id: unknown,
  work: () => Promise<T>,
): Promise<T> {
  const db = collection.db;
  let locks = byDb.get(db);
  if (!locks) byDb.set(db, (locks = new DocumentLocks(db)));
  return locks.run(`${collection.collectionName}/${String(id)}`, work);
}
