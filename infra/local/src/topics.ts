import { Kafka, logLevel, type ConfigResourceTypes } from 'kafkajs';

/** kafkajs' ConfigResourceTypes.TOPIC (its enum is not a named export under Node's ESM loader). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

export interface TopicSpec {
  topic: string;
  numPartitions: number;
}

/**
 * The broker stamps every record with its own clock (LogAppendTime), so no producer can move the
 * event-time window or the dedup clock, which are judged on record timestamps (docs/operations.md).
 */
/** DescribeConfigs' source of a value set on the topic itself (DYNAMIC_TOPIC_CONFIG). */
const TOPIC_OVERRIDE = 1;

export const BROKER_TIME = { name: 'message.timestamp.type', value: 'LogAppendTime' } as const;

/**
 * Creates the topics that do not exist yet, on broker time; an existing topic keeps its partitions
 * but is switched to broker time when it was on producer time (CreateTime). Returns the created ones.
 */
export async function ensureTopics(brokers: string[], specs: TopicSpec[]): Promise<string[]> {
  const kafka = new Kafka({ clientId: 'suite-topics', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.numPartitions,
          replicationFactor: 1,
          configEntries: [BROKER_TIME],
        })),
      });
    }
    const kept = specs.filter((s) => existing.has(s.topic)).map((s) => s.topic);
    if (kept.length > 0) {
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: kept.map((name) => ({ type: TOPIC_RESOURCE, name })),
      });
      const onProducerTime = described.resources.filter((r) =>
        r.configEntries.some(
          (e) => e.configName === BROKER_TIME.name && e.configValue !== BROKER_TIME.value,
        ),
      );
      if (onProducerTime.length > 0) {
        // AlterConfigs replaces a topic's whole set of overrides: the ones it has are sent along.
        await admin.alterConfigs({
          validateOnly: false,
          resources: onProducerTime.map((r) => ({
            type: TOPIC_RESOURCE,
            name: r.resourceName,
            configEntries: [
              ...r.configEntries
                .filter(
                  (e) => e.configSource === TOPIC_OVERRIDE && e.configName !== BROKER_TIME.name,
                )
                .map((e) => ({ name: e.configName, value: e.configValue })),
              BROKER_TIME,
            ],
          })),
        });
      }
    }
    return missing.map((s) => s.topic);
  } finally {
    await admin.disconnect();
  }
}
