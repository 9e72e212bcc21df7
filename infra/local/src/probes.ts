import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';

/** Redis PING round trip. */
export async function probeRedis(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 1000,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const answer = await client.ping();
    if (answer !== 'PONG') throw new Error(`unexpected PING answer ${answer}`);
  } finally {
    client.disconnect();
  }
}

/** Every seed node of a `redis-cluster://` URL answers CLUSTER INFO with `cluster_state:ok` and all slots assigned. */
export async function probeRedisCluster(url: string): Promise<void> {
  const nodes = url.replace(/^rediss?-cluster:\/\//, '').split(',');
  for (const node of nodes) {
    const client = new Redis(`redis://${node}`, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: 1000,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const info = String(await client.call('CLUSTER', 'INFO'));
      if (!/cluster_state:ok/.test(info) || !/cluster_slots_assigned:16384/.test(info))
        throw new Error(`${node}: cluster not ready (${info.split('\r\n')[0]})`);
    } finally {
      client.disconnect();
    }
  }
}

/** MongoDB `ping` command round trip. */
export async function probeMongo(url: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 1500, connectTimeoutMS: 1000 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

/** Kafka metadata round trip: the cluster must name a controller and at least one broker. */
export async function probeKafka(brokers: string[]): Promise<void> {
  const kafka = new Kafka({
    clientId: 'suite-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('no brokers in metadata');
  } finally {
    await admin.disconnect();
  }
}
