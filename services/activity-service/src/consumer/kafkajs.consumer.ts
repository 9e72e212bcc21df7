import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@suite/logger';
import type { ConsumerHandlers, ConsumerPort, RecordBatch } from './consumer.port.js';

export interface KafkajsConsumerOptions {
  groupId: string;
  topics: string[];
  /** Partitions processed at the same time (different users never share a partition's order). */
  concurrency: number;
  sessionTimeoutMs: number;
}

/**
 * kafkajs behind the ConsumerPort. The projection stores offsets atomically with its data, and
 * each assignment seeks to them; with nothing stored (a fresh or dropped projection) the group
 * starts from the beginning of the log. The projector seeks again whenever Redis turns out to be
 * somewhere else than the consumer (a Redis that lost data or went back in time). Offsets are also committed to Kafka, every few seconds
 * and on leaving the group, for lag tooling only (KEDA, kafka-consumer-groups): they are never
 * read back.
 */
export class KafkajsConsumer implements ConsumerPort {
  private readonly consumer: Consumer;
  private crashed = false;

  constructor(
    kafka: Kafka,
    private readonly options: KafkajsConsumerOptions,
    private readonly logger: Logger,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.floor(options.sessionTimeoutMs / 5),
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
  }

  private listening = false;
  /**
   * The seeks to the stored offsets after the latest assignment. A batch fetched before them is
   * stale once they land: waiting for them first keeps it from being applied (and its dead letters
   * sent) once before the seek and again after.
   */
  private assignment: Promise<unknown> = Promise.resolve();

  async start(handlers: ConsumerHandlers): Promise<void> {
    const { consumer } = this;
    if (!this.listening) this.listen(handlers);
    await consumer.connect();
    await consumer.subscribe({ topics: this.options.topics, fromBeginning: true });
    await this.run(handlers);
  }

  private listen(handlers: ConsumerHandlers): void {
    const { consumer } = this;
    this.listening = true;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })));
      this.logger.info({ assigned }, 'partitions assigned');
      this.assignment = handlers
        .onAssigned(assigned)
        .then((seeks) => seeks.forEach((s) => this.seek(s.topic, s.partition, s.offset)))
        .catch((err: unknown) => this.logger.error({ err }, 'could not seek to stored offsets; each transaction checks the stored offset and seeks itself'));
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.crashed = !payload.restart;
      this.logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    });
  }

  private async run(handlers: ConsumerHandlers): Promise<void> {
    await this.consumer.run({
      autoCommit: true,
      autoCommitInterval: 5000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.concurrency,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        await this.assignment;
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const records: RecordBatch = {
          topic: batch.topic,
          partition: batch.partition,
          highWatermark: batch.highWatermark,
          records: batch.messages.map((m) => ({
            offset: m.offset,
            key: m.key,
            value: m.value,
            timestamp: m.timestamp,
            headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
          })),
        };
        await handlers.onBatch(records);
        resolveOffset(batch.lastOffset());
        await heartbeat();
      },
    });
  }

  seek(topic: string, partition: number, offset: bigint): void {
    this.consumer.seek({ topic, partition, offset: String(offset) });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  healthy(): boolean {
    return !this.crashed;
  }
}
