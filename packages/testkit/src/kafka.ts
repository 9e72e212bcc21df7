import { Kafka, logLevel, type Consumer } from 'kafkajs';

/** Collects every record of a topic from the beginning, for assertions on published events. */
export async function collectTopic(brokers: string[], topic: string): Promise<{ records: { key: string; value: string; headers: Record<string, string> }[]; stop: () => Promise<void> }> {
  const kafka = new Kafka({ clientId: 'test-collector', brokers, logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: `collector-${topic}-${Math.random().toString(36).slice(2)}` });
  const records: { key: string; value: string; headers: Record<string, string> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      records.push({ key: String(message.key), value: String(message.value), headers });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

/** How many records a topic holds in all (the sum of its partitions' end offsets): what was written, whoever reads it. */
export async function recordsWritten(brokers: string[], topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'test-offsets', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}
