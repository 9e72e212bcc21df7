import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { ensureTopics } from '@suite/local-infra';
import type { TestInfra } from './infra.js';

/** Names that keep one test file's data apart from every other file's. */
export interface Isolation {
  id: string;
  dbName: string;
  keyPrefix: string;
  topicPrefix: string;
}

/** A fresh set of names (database, Redis key prefix, topic prefix) for one test file. */
export function isolate(label: string): Isolation {
  const id = `${label.replace(/[^a-z0-9]/gi, '').slice(0, 16)}_${randomBytes(4).toString('hex')}`;
  return { id, dbName: `t_${id}`, keyPrefix: `t:${id}:`, topicPrefix: `t.${id}.` };
}

/** The servers the global setup found or started. */
export function testInfra(): TestInfra {
  return inject('infra');
}

/** Creates prefixed topics (and their dead-letter topics) for a test file. */
export async function createTestTopics(
  infra: TestInfra,
  prefix: string,
  topics: Record<string, number>,
): Promise<void> {
  await ensureTopics(
    infra.kafkaBrokers,
    Object.entries(topics).flatMap(([topic, numPartitions]) => [
      { topic: `${prefix}${topic}`, numPartitions },
      { topic: `${prefix}${topic}.dlq`, numPartitions: 1 },
    ]),
  );
}
