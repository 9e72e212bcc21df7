import { AppError } from '@suite/contracts';
import { MongoClient, MongoServerError, type Db } from 'mongodb';
import { UniqueViolation } from './errors.js';
import { isSqlUniqueViolation } from './ferretdb.js';

/** One client per process; the driver reconnects on its own after an outage. */
export function createMongo(
  url: string,
  dbName: string,
  queryTimeoutMs: number,
): { client: MongoClient; db: Db } {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: Math.min(queryTimeoutMs, 3000),
    connectTimeoutMS: 2000,
    // Queries carry maxTimeMS (repositories); this bounds any socket wait, writes included.
    socketTimeoutMS: queryTimeoutMs * 2,
    maxPoolSize: 50,
    appName: 'users-service',
  });
  return { client, db: client.db(dbName) };
}

const UNAVAILABLE = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoOperationTimeoutError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
]);

/** Maps driver failures onto the error shape: outages become 503, everything else stays unknown. */
export function mapMongoError(err: unknown): AppError | undefined {
  if (err instanceof Error && UNAVAILABLE.has(err.name)) {
    return new AppError('unavailable', 'the user database is unavailable; try again shortly');
  }
  if (err instanceof MongoServerError && err.code === 50) {
    return new AppError('unavailable', 'the user database did not answer in time');
  }
  return undefined;
}

/** True for a unique-index violation: MongoDB's code 11000, or FerretDB's wording of it (`isSqlUniqueViolation`). */
export function isDuplicateKey(err: unknown): err is MongoServerError {
  return (
    err instanceof MongoServerError && (err.code === 11000 || isSqlUniqueViolation(err.message))
  );
}

/** Rethrows a driver's unique-index error as a UniqueViolation naming the field (the index names carry it); anything else as it is. */
export function uniqueViolation(err: unknown): never {
  if (!isDuplicateKey(err)) throw err;
  throw new UniqueViolation(
    /email/.test(err.message) ? 'email' : /username/.test(err.message) ? 'username' : 'name',
  );
}
