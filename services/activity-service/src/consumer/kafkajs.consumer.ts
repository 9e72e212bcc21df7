import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@suite/logger';
import type { ConsumerHandlers, ConsumerPort, RecordBatch } from '../data-access/consumer.port.js';

export interface KafkajsConsumerOptions {
  groupId: string;
  topics: string[];
  /** Partitions processed at the same time (different users never share a partition's order). */
  concurrency: number;
  sessionTimeoutMs: number;
}

/**
 * How much one fetch takes of a partition (kafkajs's default is 1 MiB). A batch is applied as one
 * step per user in it, so a larger batch gives each step more of its user's records when the
 * consumer is behind (a rebuild, a burst): the step's fixed cost (its reads of the user's head, the
 * fence, the slot marker) is paid once for more activities. Live, batches stay small anyway.
 * Measured (bench:activity, uniform, 500k events, one Redis): projected / naive 0.75 at 1 MiB,
 * 0.91 at 4 MiB. A fetch holds at most twice this per partition consumed at once (CONSUMER_CONCURRENCY).
 */
export const FETCH_BYTES_PER_PARTITION = 4 * 1024 * 1024;

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
      maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
      maxBytes: FETCH_BYTES_PER_PARTITION * Math.max(options.concurrency, 1) * 2,
    });
  }

  private listening = false;
  /**
   * The seeks to the stored offsets after the latest assignment. A batch fetched before them is
   * stale once they land: waiting for them first keeps it from being applied (and its dead letters
   * sent) once before the seek and again after.
   */
  private assignment: Promise<unknown> = Promise.resolve();
  /** Per partition (`<topic>:<p>`): the next offset this consumer fetches from (after its last batch, or where it seeked). */
  private readonly positions = new Map<string, bigint>();
  /** Per partition: the checkpoint move past a batch of transaction markers only, which the next batch waits for. */
  private readonly passing = new Map<string, Promise<void>>();
  /** Seeks so far: a batch whose handling seeked leaves the position where the seek put it. */
  private seeks = 0;

  async start(handlers: ConsumerHandlers): Promise<void> {
    const { consumer } = this;
    if (!this.listening) this.listen(handlers);
    await consumer.connect();
    await consumer.subscribe({ topics: this.options.topics, fromBeginning: true });
    await this.run(handlers);
    // Joined: started once the first assignment's positions are known (readiness waits for this).
    await this.assignment;
  }

  private listen(handlers: ConsumerHandlers): void {
    const { consumer } = this;
    this.listening = true;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      );
      this.logger.info({ assigned }, 'partitions assigned');
      this.assignment = handlers
        .onAssigned(assigned)
        .then((seeks) => seeks.forEach((s) => this.seek(s.topic, s.partition, s.offset)))
        .catch((err: unknown) =>
          this.logger.error(
            { err },
            'could not seek to stored offsets; each transaction checks the stored offset and seeks itself',
          ),
        );
    });
    // A fetch of transaction markers (or aborted records) only never reaches eachBatch: kafkajs moves
    // past it by itself. The projection's checkpoint must move past it too, or it would wait for
    // records that will never come (a rebuild's target, the gap check of the next batch).
    consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0 || payload.firstOffset !== null) return;
      const key = `${payload.topic}:${payload.partition}`;
      const from = this.positions.get(key);
      const next = BigInt(payload.lastOffset) + 1n;
      if (from === undefined || from >= next) return;
      this.positions.set(key, next);
      const batch: RecordBatch = {
        topic: payload.topic,
        partition: payload.partition,
        highWatermark: payload.highWatermark,
        records: [],
        firstOffset: String(from),
        lastOffset: payload.lastOffset,
      };
      const previous = this.passing.get(key) ?? Promise.resolve();
      this.passing.set(
        key,
        previous
          .then(() => handlers.onBatch(batch))
          .catch((err: unknown) =>
            this.logger.warn(
              { err, topic: payload.topic, partition: payload.partition },
              'could not move the checkpoint past transaction markers; the next batch will',
            ),
          ),
      );
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
        const key = `${batch.topic}:${batch.partition}`;
        await this.passing.get(key);
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const records: RecordBatch = {
          topic: batch.topic,
          partition: batch.partition,
          highWatermark: batch.highWatermark,
          firstOffset: batch.firstOffset() ?? batch.messages[0]!.offset,
          lastOffset: batch.lastOffset(),
          records: batch.messages.map((m) => ({
            offset: m.offset,
            key: m.key,
            value: m.value,
            timestamp: m.timestamp,
            headers: Object.fromEntries(
              Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]),
            ),
          })),
        };
        const seeks = this.seeks;
        await handlers.onBatch(records);
        if (seeks === this.seeks) this.positions.set(key, BigInt(batch.lastOffset()) + 1n);
        resolveOffset(batch.lastOffset());
        await heartbeat();
      },
    });
  }

  seek(topic: string, partition: number, offset: bigint): void {
    this.positions.set(`${topic}:${partition}`, offset);
    this.seeks++;
    this.consumer.seek({ topic, partition, offset: String(offset) });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  healthy(): boolean {
    return !this.crashed;
  }
}
