import { Kafka, logLevel, type Admin, type ConfigResourceTypes } from 'kafkajs';
import type { kafkaSecurity } from '@suite/config';
import type { LogOffsets } from './consumer.port.js';

/** kafkajs' ConfigResourceTypes.TOPIC (its enum is not a named export under Node's ESM loader). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

/** The Kafka client for this service; kafkajs' own logs are off, we log what matters ourselves. */
export function createKafka(
  clientId: string,
  brokers: string[],
  security: ReturnType<typeof kafkaSecurity>,
): Kafka {
  return new Kafka({
    clientId,
    brokers,
    ...security,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
  });
}

/** A readiness probe: a metadata round trip on a long-lived admin client. */
export function kafkaProbe(kafka: Kafka): {
  check: () => Promise<void>;
  close: () => Promise<void>;
} {
  let admin: Admin | undefined;
  return {
    async check() {
      admin ??= kafka.admin({ retry: { retries: 0 } });
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length === 0) throw new Error('no brokers in metadata');
      } catch (err) {
        // A fresh admin next time: kafkajs keeps stale broker connections after an outage.
        const stale = admin;
        admin = undefined;
        await stale?.disconnect().catch(() => undefined);
        throw err;
      }
    },
    async close() {
      await admin?.disconnect();
    },
  };
}

/** The log's bounds per partition, from an admin client of its own (connected on first use). */
export function kafkaLogOffsets(kafka: Kafka): LogOffsets & { close: () => Promise<void> } {
  let admin: Admin | undefined;
  return {
    async offsets(topic) {
      admin ??= kafka.admin();
      await admin.connect();
      // A topic not created yet holds no records.
      if (!(await admin.listTopics()).includes(topic)) return [];
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map((o) => ({
        partition: o.partition,
        low: BigInt(o.low),
        high: BigInt(o.high),
      }));
    },
    async close() {
      await admin?.disconnect();
    },
  };
}

/**
 * The topics among `topics` whose records carry their producer's clock (`CreateTime`) instead of
 * the broker's (`LogAppendTime`). A topic that does not exist yet is left out: the broker creates
 * it on first use with its default (`log.message.timestamp.type`, which the provisioning sets).
 */
export async function topicsOnProducerTime(kafka: Kafka, topics: string[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return [];
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((name) => ({
        type: TOPIC_RESOURCE,
        name,
        configNames: ['message.timestamp.type'],
      })),
    });
    return resources
      .filter((r) =>
        r.configEntries.some(
          (e) => e.configName === 'message.timestamp.type' && e.configValue !== 'LogAppendTime',
        ),
      )
      .map((r) => r.resourceName);
  } finally {
    await admin.disconnect();
  }
}
