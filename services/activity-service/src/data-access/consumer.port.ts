/** The consumer as the projector sees it: the Kafka client library behind it can be swapped. */
export interface ConsumedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers: Record<string, string>;
}

export interface RecordBatch {
  topic: string;
  partition: number;
  /** The data records (empty when the batch held only transaction markers or aborted records). */
  records: ConsumedRecord[];
  highWatermark: string;
  /**
   * The first and last offsets the batch consumed, transaction markers and aborted records included:
   * on a transactional topic the data records leave gaps, and the checkpoint covers them.
   */
  firstOffset: string;
  lastOffset: string;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface ConsumerHandlers {
  /** Applies a batch; when it resolves, the batch is durably applied (or a seek was asked for). A throw retries it. */
  onBatch(batch: RecordBatch): Promise<void>;
  /** The partitions this consumer now owns; resolves with where each should start. */
  onAssigned(assigned: TopicPartition[]): Promise<(TopicPartition & { offset: bigint })[]>;
}

export interface ConsumerPort {
  /** Joins the group; resolves once the first assignment's start positions are set (`onAssigned`). */
  start(handlers: ConsumerHandlers): Promise<void>;
  /** Moves a partition's fetch position; batches fetched before it are not delivered. */
  seek(topic: string, partition: number, offset: bigint): void;
  /** Finishes the batch in flight, leaves the group, disconnects. */
  stop(): Promise<void>;
  /** False once the consumer stopped after a fatal error. */
  healthy(): boolean;
}

/** The log's bounds per partition (low: first offset still held; high: next offset to be written). */
export interface LogOffsets {
  offsets(topic: string): Promise<{ partition: number; low: bigint; high: bigint }[]>;
}
