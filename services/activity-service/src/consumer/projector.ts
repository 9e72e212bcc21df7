import type { Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DlqHeaders, Topics, UsersEvent, dlqTopic } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import { startConsumeSpan } from '@suite/telemetry';
import type { ActivityWrite, ProjectionStore } from '../data-access/projection.store.js';
import { decodeActivity, toWrite, type DeadLetterReason } from '../domain/decode.js';
import type { ConsumerHandlers, ConsumedRecord, RecordBatch } from './consumer.port.js';

/** Records per Redis script call: bounds the script's run time and argument count. */
const CHUNK = 2000;

export interface ProjectorOptions {
  topicPrefix: string;
  publishLive: boolean;
}

/** Turns Kafka batches into projection writes: decode, dead-letter what cannot be applied, apply the rest. */
export class Projector implements ConsumerHandlers {
  readonly activityTopic: string;
  readonly usersTopic: string;
  private readonly applied: Counter;
  private readonly deduplicated: Counter;
  private readonly deadLettered: Counter<'reason'>;
  private readonly dropped: Counter<'reason'>;
  private readonly usersApplied: Counter;
  private readonly batchSeconds: Histogram<'topic'>;
  private readonly lag: Gauge<'topic' | 'partition'>;
  /** Total records handled (applied, duplicate, dropped or dead-lettered), for progress reporting. */
  handled = 0;

  constructor(
    private readonly store: ProjectionStore,
    private readonly dlqProducer: Producer,
    private readonly logger: Logger,
    registry: Registry,
    private readonly options: ProjectorOptions,
  ) {
    this.activityTopic = `${options.topicPrefix}${Topics.activityEvents}`;
    this.usersTopic = `${options.topicPrefix}${Topics.usersEvents}`;
    const r = [registry];
    this.applied = new Counter({ name: 'activity_events_applied_total', help: 'Activity events applied to the projections', registers: r });
    this.deduplicated = new Counter({ name: 'activity_events_deduplicated_total', help: 'Activity events skipped as duplicates of an event id already applied', registers: r });
    this.deadLettered = new Counter({ name: 'activity_events_dead_lettered_total', help: 'Records sent to the dead-letter topic, by reason', labelNames: ['reason'], registers: r });
    this.dropped = new Counter({ name: 'activity_events_dropped_total', help: 'Valid events not applied, by reason (e.g. the user was deleted)', labelNames: ['reason'], registers: r });
    this.usersApplied = new Counter({ name: 'users_events_applied_total', help: 'users.events records applied to the access replica', registers: r });
    this.batchSeconds = new Histogram({ name: 'activity_batch_duration_seconds', help: 'Time to decode, dead-letter and apply one Kafka batch', labelNames: ['topic'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: r });
    this.lag = new Gauge({ name: 'kafka_consumer_lag', help: 'Records between the projection and the end of the partition', labelNames: ['topic', 'partition'], registers: r });
  }

  async startOffsets(assigned: { topic: string; partition: number }[]) {
    const seeks = await Promise.all(
      assigned.map(async ({ topic, partition }) => ({ topic, partition, offset: (await this.store.storedOffset(topic, partition)) ?? '0' })),
    );
    this.logger.info({ seeks }, 'seeking to the offsets stored with the projection');
    return seeks;
  }

  async onBatch(batch: RecordBatch): Promise<void> {
    const end = this.batchSeconds.startTimer({ topic: batch.topic });
    for (let i = 0; i < batch.records.length; i += CHUNK) {
      const chunk = batch.records.slice(i, i + CHUNK);
      const nextOffset = String(BigInt(chunk.at(-1)!.offset) + 1n);
      if (batch.topic === this.usersTopic) await this.applyUsers(batch, chunk, nextOffset);
      else await this.applyActivities(batch, chunk, nextOffset);
      this.handled += chunk.length;
    }
    const last = BigInt(batch.records.at(-1)!.offset) + 1n;
    this.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(BigInt(batch.highWatermark) - last));
    end();
  }

  private async applyActivities(batch: RecordBatch, records: ConsumedRecord[], nextOffset: string): Promise<void> {
    const writes: ActivityWrite[] = [];
    const dead: { record: ConsumedRecord; reason: DeadLetterReason; detail: string }[] = [];
    for (const record of records) {
      const decoded = decodeActivity(record.value);
      if (decoded.ok) writes.push(toWrite(decoded.event, record.offset, Number(record.timestamp), record.headers.traceparent ?? decoded.event.traceparent));
      else dead.push({ record, reason: decoded.reason, detail: decoded.detail });
    }
    // Dead letters are acknowledged before the offset moves past them: nothing is dropped silently.
    await this.deadLetter(batch, dead);
    const span = startConsumeSpan(`${batch.topic} process`, writes.map((w) => w.traceparent), {
      'messaging.system': 'kafka', 'messaging.destination.name': batch.topic, 'messaging.destination.partition.id': String(batch.partition), 'messaging.batch.message_count': records.length,
    });
    const result = await this.store.applyActivities(batch.topic, batch.partition, writes, nextOffset, this.options.publishLive).finally(() => span?.end());
    this.applied.inc(result.applied);
    this.deduplicated.inc(result.duplicates);
    if (result.dropped > 0) this.dropped.inc({ reason: 'user_deleted' }, result.dropped);
  }

  private async applyUsers(batch: RecordBatch, records: ConsumedRecord[], nextOffset: string): Promise<void> {
    const events: { offset: string; json: string }[] = [];
    const dead: { record: ConsumedRecord; reason: DeadLetterReason; detail: string }[] = [];
    for (const record of records) {
      try {
        const parsed = UsersEvent.safeParse(JSON.parse(record.value?.toString('utf8') ?? ''));
        if (parsed.success) events.push({ offset: record.offset, json: JSON.stringify(parsed.data) });
        else dead.push({ record, reason: 'schema_invalid', detail: parsed.error.issues[0]?.message ?? 'invalid' });
      } catch (err) {
        dead.push({ record, reason: 'malformed_json', detail: (err as Error).message.slice(0, 200) });
      }
    }
    await this.deadLetter(batch, dead);
    this.usersApplied.inc(await this.store.applyUsersEvents(batch.topic, batch.partition, events, nextOffset, this.options.publishLive));
  }

  private async deadLetter(batch: RecordBatch, dead: { record: ConsumedRecord; reason: DeadLetterReason; detail: string }[]): Promise<void> {
    if (dead.length === 0) return;
    await this.dlqProducer.connect();
    await this.dlqProducer.send({
      topic: dlqTopic(batch.topic),
      acks: -1,
      messages: dead.map(({ record, reason, detail }) => ({
        key: record.key,
        value: record.value,
        headers: {
          ...record.headers,
          [DlqHeaders.sourceTopic]: batch.topic,
          [DlqHeaders.sourcePartition]: String(batch.partition),
          [DlqHeaders.sourceOffset]: record.offset,
          [DlqHeaders.reason]: reason,
          [DlqHeaders.detail]: detail,
        },
      })),
    });
    for (const d of dead) this.deadLettered.inc({ reason: d.reason });
    this.logger.warn({ topic: batch.topic, partition: batch.partition, count: dead.length, reasons: dead.map((d) => d.reason) }, 'records dead-lettered');
  }
}
