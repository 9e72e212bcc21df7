import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';

/** Collects every record of a topic from the beginning, for assertions on published events. */
export async function collectTopic(
  brokers: string[],
  topic: string,
): Promise<{
  records: { key: string; value: string; headers: Record<string, string> }[];
  stop: () => Promise<void>;
}> {
  const kafka = new Kafka({ clientId: 'test-collector', brokers, logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({
    groupId: `collector-${topic}-${Math.random().toString(36).slice(2)}`,
  });
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

/** A connected producer for tests that write records themselves (poison, forged, with set timestamps). */
export async function testProducer(brokers: string[], clientId: string): Promise<Producer> {
  const producer = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  return producer;
}

/** Each partition's first (`low`) and next (`high`) offset of a topic. */
export async function topicOffsets(
  brokers: string[],
  topic: string,
): Promise<{ partition: number; low: bigint; high: bigint }[]> {
  const admin = new Kafka({
    clientId: 'test-offsets',
    brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({
      partition: p.partition,
      low: BigInt(p.low),
      high: BigInt(p.high),
    }));
  } finally {
    await admin.disconnect();
  }
}

/** How many records a topic holds in all (the sum of its partitions' end offsets): what was written, whoever reads it. */
export async function recordsWritten(brokers: string[], topic: string): Promise<number> {
  return (await topicOffsets(brokers, topic)).reduce((n, p) => n + Number(p.high - p.low), 0);
}
