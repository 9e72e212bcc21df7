import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestTopics, eventually, isolate, testInfra } from '@suite/testkit';

const infra = testInfra();
const names = isolate('harness');

describe('test harness on real servers', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });

  it('when a record is produced to Kafka, then a consumer in a new group reads it back', async () => {
    await createTestTopics(infra, names.topicPrefix, { roundtrip: 2 });
    const topic = `${names.topicPrefix}roundtrip`;
    const kafka = new Kafka({
      clientId: 'harness',
      brokers: infra.kafkaBrokers,
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ idempotent: true });
    const consumer = kafka.consumer({ groupId: `${names.id}-g` });
    closers.push(
      () => producer.disconnect(),
      () => consumer.disconnect(),
    );
    await Promise.all([producer.connect(), consumer.connect()]);
    const value = randomUUID();
    const received: string[] = [];
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void received.push(String(message.value)),
    });
    await producer.send({ topic, acks: -1, messages: [{ key: '1', value }] });
    await eventually(async () => (received.includes(value) ? true : undefined), 30_000);
    expect(received).toEqual([value]);
  });

  it('when a document is written to MongoDB, then it reads back from the file’s own database', async () => {
    const client = new MongoClient(infra.mongoUrl);
    closers.push(() => client.close());
    const db = client.db(names.dbName);
    await db.collection('things').insertOne({ _id: 1 as never, name: 'one' });
    expect(await db.collection('things').findOne({ _id: 1 as never })).toEqual({
      _id: 1,
      name: 'one',
    });
    expect(db.databaseName).toBe(names.dbName);
    await db.dropDatabase();
  });

  it('when a key is set in Redis under the file’s prefix, then it reads back', async () => {
    const redis = new Redis(infra.redisUrl, { keyPrefix: names.keyPrefix });
    closers.push(async () => redis.quit());
    await redis.set('k', 'v');
    expect(await redis.get('k')).toBe('v');
    const raw = new Redis(infra.redisUrl);
    closers.push(async () => raw.quit());
    expect(await raw.get(`${names.keyPrefix}k`)).toBe('v');
  });
});
