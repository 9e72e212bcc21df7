import type { Db } from 'mongodb';

interface CounterDoc {
  _id: string;
  seq: number;
}

/** The next integer in a named sequence; atomic on a single document. */
export async function nextSequence(db: Db, name: string): Promise<number> {
  const doc = await db
    .collection<CounterDoc>('counters')
    .findOneAndUpdate({ _id: name }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'after' });
  if (!doc) throw new Error(`counter ${name} did not return a value`);
  return doc.seq;
}
