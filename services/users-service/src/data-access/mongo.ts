import { MongoClient, type Db } from 'mongodb';

/** One client per process; the driver reconnects on its own after an outage. */
export function createMongo(url: string, dbName: string): { client: MongoClient; db: Db } {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 2000,
    connectTimeoutMS: 2000,
    maxPoolSize: 50,
    appName: 'users-service',
  });
  return { client, db: client.db(dbName) };
}
