import type { Db } from 'mongodb';
import { withDocumentLock } from './document-locks.js';

interface CounterDoc {
  _id: string;
  seq: number;
}

/** The next integer in a named sequence (or the last of `by` reserved ones); atomic on a single document. */
export async function nextSequence(db: Db, name: string, by = 1): Promise<number> {
  const counters = db.collection<CounterDoc>('counters');
  const doc = await withDocumentLock(counters, name, () =>
    counters.findOneAndUpdate(
      { _id: name },
      { $inc: { seq: by } },
      { upsert: true, returnDocument: 'after' },
    ),
  );
  if (!doc) throw new Error(`counter ${name} did not return a value`);
  return doc.seq;
}
