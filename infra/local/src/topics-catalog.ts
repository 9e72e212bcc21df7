// The project's topics, from the shared contracts.
import { Topics as TopicNames, TopicPartitions, dlqTopic, type TopicName } from '@suite/contracts';

export const Topics: TopicName[] = Object.values(TopicNames);
export { TopicPartitions, dlqTopic };
