/** Kafka topic names. Tests and multi-tenant setups may prepend a prefix. */
export const Topics = {
  activityEvents: 'activity.events',
  usersEvents: 'users.events',
  /** Inbox deliveries and marks, keyed by the recipient. */
  inboxEvents: 'inbox.events',
} as const;
export type TopicName = (typeof Topics)[keyof typeof Topics];

/** The dead-letter topic for a source topic. */
export function dlqTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Partition counts the project provisions; documented in README "Topics". */
export const TopicPartitions: Record<TopicName, number> = {
  'activity.events': 6,
  'users.events': 3,
  'inbox.events': 6,
};

/** Every topic the project provisions, each with its dead-letter topic (one partition), and their partition counts. */
export function provisionedTopics(): { topic: string; numPartitions: number }[] {
  return (Object.values(Topics) as TopicName[]).flatMap((topic) => [
    { topic, numPartitions: TopicPartitions[topic] },
    { topic: dlqTopic(topic), numPartitions: 1 },
  ]);
}

/** Kafka header names used on dead letters. */
export const DlqHeaders = {
  sourceTopic: 'x-dlq-source-topic',
  sourcePartition: 'x-dlq-source-partition',
  sourceOffset: 'x-dlq-source-offset',
  reason: 'x-dlq-reason',
  detail: 'x-dlq-detail',
} as const;
