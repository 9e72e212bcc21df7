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
  records: ConsumedRecord[];
  highWatermark: string;
}

export interface ConsumerHandlers {
  /** Applies a batch; when it resolves, the batch is durably applied. A throw retries it. */
  onBatch(batch: RecordBatch): Promise<void>;
  /** Where to start each newly assigned partition (the offset stored with the projection). */
  startOffsets(assigned: { topic: string; partition: number }[]): Promise<{ topic: string; partition: number; offset: string }[]>;
}

export interface ConsumerPort {
  start(handlers: ConsumerHandlers): Promise<void>;
  /** Finishes the batch in flight, leaves the group, disconnects. */
  stop(): Promise<void>;
  /** Metadata round trip for readiness. */
  healthy(): boolean;
}
