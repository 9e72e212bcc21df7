import type { Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  DlqHeaders,
  INBOX_DELIVERED_TYPE,
  Topics,
  type InboxEvent,
  UsersEvent,
  UsersEventType,
  dlqTopic,
  type EventTimeWindow,
} from '@suite/contracts';
import type { Logger } from '@suite/logger';
import { OriginHeaders, USERS_SERVICE_ORIGIN, originProblem } from '@suite/auth';
import { startConsumeSpan } from '@suite/telemetry';
import type {
  ActivityTransactions,
  ActivityWrite,
  RecordRange,
} from '../data-access/activity.transaction.js';
import type { InboxTransactions, InboxWrite } from '../data-access/inbox.transaction.js';
import { LayoutMismatchError } from '../data-access/projection.state.js';
import type { UsersEventsScript, UsersOperation } from '../data-access/users-events.script.js';
import {
  decodeActivity,
  toWrite,
  validateInboxEvent,
  type DeadLetterReason,
} from '../domain/decode.js';
import type { ProjectionKeeper } from '../domain/projection-keeper.js';
import type { InboxRouter, Notifying } from './inbox-router.js';
import type {
  ConsumerHandlers,
  ConsumedRecord,
  RecordBatch,
  TopicPartition,
} from '../data-access/consumer.port.js';

/** Records per transaction: bounds how long Redis runs one EXEC and how many arguments it gets. */
const CHUNK = 2000;

export interface ProjectorOptions {
  topicPrefix: string;
  /** Events whose time lies outside this window around their record's timestamp are dead letters. */
  timeWindow: EventTimeWindow;
  /** The keys a users.events record's mark of origin may be signed with (current first). */
  usersEventsKeys: string[];
  /** Per partition, the first offset whose users.events record must carry the mark (older ones predate signing). */
  usersEventsUnsignedBefore: Map<number, bigint>;
  /** Routes the activities that name recipients to their inboxes, from these batches (none in a rebuild). */
  router?: InboxRouter;
}

/** How long a batch the router cannot route yet (the access replica is not whole) waits before it is fetched again. */
const ROUTING_RETRY_MS = 250;

type DeadLetter = { record: ConsumedRecord; reason: DeadLetterReason; detail: string };

type Outcome = Awaited<ReturnType<ActivityTransactions['apply']>>;

/** The projector's metrics, registered once in `registry`. */
function projectorMetrics(registry: Registry) {
  const r = [registry];
  return {
    applied: new Counter({
      name: 'activity_events_applied_total',
      help: 'Activity events applied to the projections',
      registers: r,
    }),
    deduplicated: new Counter({
      name: 'activity_events_deduplicated_total',
      help: 'Activity events skipped as duplicates of an event id already applied',
      registers: r,
    }),
    deadLettered: new Counter({
      name: 'activity_events_dead_lettered_total',
      help: 'Records sent to the dead-letter topic, by reason',
      labelNames: ['reason'],
      registers: r,
    }),
    dropped: new Counter({
      name: 'activity_events_dropped_total',
      help: 'Valid events not applied, by reason (e.g. the user was deleted)',
      labelNames: ['reason'],
      registers: r,
    }),
    usersApplied: new Counter({
      name: 'users_events_applied_total',
      help: 'users.events records applied to the access replica',
      registers: r,
    }),
    inboxApplied: new Counter({
      name: 'inbox_events_applied_total',
      help: 'inbox.events records applied to the inboxes (deliveries and marks; duplicates of a delivery excluded)',
      registers: r,
    }),
    batchSeconds: new Histogram({
      name: 'activity_batch_duration_seconds',
      help: 'Time to decode, dead-letter and apply one Kafka batch',
      labelNames: ['topic'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    }),
    lag: new Gauge({
      name: 'kafka_consumer_lag',
      help: 'Records between the projection and the end of the partition',
      labelNames: ['topic', 'partition'],
      registers: r,
    }),
  };
}

type ProjectorMetrics = ReturnType<typeof projectorMetrics>;

/** Turns Kafka batches into projection transactions: decode, dead-letter what cannot be applied, apply the rest. */
export class Projector implements ConsumerHandlers {
  readonly activityTopic: string;
  readonly usersTopic: string;
  readonly inboxTopic: string;
  private readonly timeWindow: EventTimeWindow;
  private readonly usersEventsKeys: string[];
  private readonly usersEventsUnsignedBefore: Map<number, bigint>;
  private readonly metrics: ProjectorMetrics;
  private readonly router: InboxRouter | undefined;

  constructor(
    private readonly activities: ActivityTransactions,
    private readonly users: UsersEventsScript,
    private readonly inbox: InboxTransactions,
    private readonly keeper: ProjectionKeeper,
    private readonly dlqProducer: Producer,
    private readonly logger: Logger,
    registry: Registry,
    options: ProjectorOptions,
  ) {
    this.timeWindow = options.timeWindow;
    this.usersEventsKeys = options.usersEventsKeys;
    this.usersEventsUnsignedBefore = options.usersEventsUnsignedBefore;
    this.router = options.router;
    this.activityTopic = `${options.topicPrefix}${Topics.activityEvents}`;
    this.usersTopic = `${options.topicPrefix}${Topics.usersEvents}`;
    this.inboxTopic = `${options.topicPrefix}${Topics.inboxEvents}`;
    this.metrics = projectorMetrics(registry);
  }

  async onAssigned(assigned: TopicPartition[]) {
    // Each assignment replaces the last: a partition that moved to another pod must not keep
    // reporting its old lag from this one (the lag alert sums over pods).
    this.metrics.lag.reset();
    if (!this.router) return this.keeper.assigned(assigned);
    // Where routing stands may be before where the projection does (a router that was off, or
    // behind): the consumer fetches from there, and the projection skips what it applied already.
    const sources = assigned.filter((a) => a.topic === this.activityTopic);
    const [starts, routed] = await Promise.all([
      this.keeper.assigned(assigned),
      this.router.assigned(sources.map((a) => a.partition)).catch((err: unknown) => {
        this.logger.warn({ err }, 'could not read where inbox routing stands; each batch reads it');
        return new Map<number, bigint>();
      }),
    ]);
    return starts.map((s) => {
      const at = s.topic === this.activityTopic ? routed.get(s.partition) : undefined;
      return at !== undefined && at < s.offset ? { ...s, offset: at } : s;
    });
  }

  async onBatch(batch: RecordBatch): Promise<void> {
    const routing = await this.routing(batch);
    if (routing === 'refetch') return;
    const end = this.metrics.batchSeconds.startTimer({ topic: batch.topic });
    const last = BigInt(batch.lastOffset) + 1n;
    if (batch.records.length === 0) await this.passMarkers(batch);
    // The activities that name recipients, collected as the chunks decode them, routed once all are applied.
    const notifying: Notifying[] | undefined = routing === 'route' ? [] : undefined;
    let whole = true;
    for (let i = 0; i < batch.records.length; i += CHUNK) {
      const chunk = batch.records.slice(i, i + CHUNK);
      // The first and last chunks stretch to the batch's bounds: the transaction markers around the data are covered too.
      const first = i === 0 ? BigInt(batch.firstOffset) : BigInt(chunk[0]!.offset);
      const upTo = i + CHUNK >= batch.records.length ? last - 1n : BigInt(chunk.at(-1)!.offset);
      // After a seek the rest of this batch comes again from the new position.
      whole = await this.applyChunk(batch, chunk, first, upTo, notifying);
      if (!whole) break;
    }
    if (notifying && whole) await this.router!.route(batch.partition, last - 1n, notifying);
    this.metrics.lag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Number(BigInt(batch.highWatermark) - last),
    );
    end();
  }

  /**
   * What the router says of an `activity.events` batch: route it once applied, nothing to route
   * (`none`), or fetch it again (`refetch`: from where routing stands when the batch starts after
   * it, or from the batch's start after a pause while the access replica is not whole).
   */
  private async routing(batch: RecordBatch): Promise<'route' | 'none' | 'refetch'> {
    if (!this.router || batch.topic !== this.activityTopic) return 'none';
    const first = BigInt(batch.firstOffset);
    const last = BigInt(batch.lastOffset);
    if (batch.records.length === 0) {
      this.router.passed(batch.partition, first, last);
      return 'none';
    }
    const plan = await this.router.plan(batch.partition, first, last);
    if (plan.kind === 'route') return 'route';
    if (plan.kind === 'skip') return 'none';
    if (plan.kind === 'wait') await new Promise((r) => setTimeout(r, ROUTING_RETRY_MS));
    const from = plan.kind === 'seek' ? plan.offset : first;
    await this.keeper.refetch({ topic: batch.topic, partition: batch.partition }, from);
    return 'refetch';
  }

  /** A batch of transaction markers (or aborted records) only: the checkpoint moves past it when it stood at its start. */
  private async passMarkers(batch: RecordBatch): Promise<void> {
    const range: RecordRange = {
      topic: batch.topic,
      partition: batch.partition,
      first: BigInt(batch.firstOffset),
      last: BigInt(batch.lastOffset),
      fromLogStart: false,
    };
    if (await this.keeper.pass(range)) this.keeper.applied(range, range.last + 1n);
  }

  /** Applies one chunk (adding the activities that name recipients to `notifying`); false when the consumer had to seek instead. */
  private async applyChunk(
    batch: RecordBatch,
    records: ConsumedRecord[],
    first: bigint,
    last: bigint,
    notifying?: Notifying[],
  ): Promise<boolean> {
    const range: RecordRange = {
      topic: batch.topic,
      partition: batch.partition,
      first,
      last,
      fromLogStart: false,
    };
    const isUsers = batch.topic === this.usersTopic;
    const isInbox = batch.topic === this.inboxTopic;
    const { apply, dead, traces } = isUsers
      ? this.prepareUsers(range, records)
      : isInbox
        ? this.prepareInbox(range, records)
        : this.prepareActivities(range, records, notifying);
    // Dead letters are acknowledged before the offset moves past them: nothing is dropped silently.
    await this.deadLetter(batch, dead);
    for (;;) {
      const span =
        isUsers || isInbox
          ? undefined
          : startConsumeSpan(`${batch.topic} process`, traces, {
              'messaging.system': 'kafka',
              'messaging.destination.name': batch.topic,
              'messaging.destination.partition.id': String(batch.partition),
              'messaging.batch.message_count': records.length,
            });
      const outcome = await apply().finally(() => span?.end());
      if (outcome.kind === 'applied') {
        this.keeper.applied(range, range.last + 1n);
        return true;
      }
      if (outcome.kind === 'lost') await this.keeper.heal(outcome.slot);
      else if (outcome.kind === 'foreign') throw new LayoutMismatchError(outcome.found);
      else if ((await this.keeper.behind(range, outcome.stored)) === 'seeked') return false;
      else range.fromLogStart = true;
    }
  }

  private prepareActivities(
    range: RecordRange,
    records: ConsumedRecord[],
    notifying?: Notifying[],
  ) {
    const writes: ActivityWrite[] = [];
    const dead: DeadLetter[] = [];
    for (const record of records) {
      const decoded = decodeActivity(record.value, record.headers, {
        atMs: Number(record.timestamp),
        window: this.timeWindow,
      });
      if (decoded.ok) {
        writes.push(
          toWrite(
            decoded.event,
            BigInt(record.offset),
            Number(record.timestamp),
            record.headers.traceparent ?? decoded.event.traceparent,
            decoded.timeMs,
          ),
        );
        if (notifying && decoded.event.data.notify)
          notifying.push({
            offset: BigInt(record.offset),
            recordMs: Number(record.timestamp),
            event: decoded.event,
          });
      } else dead.push({ record, reason: decoded.reason, detail: decoded.detail });
    }
    const apply = async (): Promise<Outcome> => {
      const outcome = await this.activities.apply(range, writes);
      if (outcome.kind === 'applied') {
        this.metrics.applied.inc(outcome.applied);
        this.metrics.deduplicated.inc(outcome.duplicates);
        if (outcome.dropped > 0)
          this.metrics.dropped.inc({ reason: 'user_deleted' }, outcome.dropped);
      }
      return outcome;
    };
    return { apply, dead, traces: writes.map((w) => w.traceparent) };
  }

  private prepareUsers(range: RecordRange, records: ConsumedRecord[]) {
    const operations: UsersOperation[] = [];
    const dead: DeadLetter[] = [];
    for (const record of records) {
      // Only the users-service may say who was deleted or what access changed.
      const untrusted = originProblem(
        USERS_SERVICE_ORIGIN,
        this.usersEventsKeys,
        record.value,
        record.headers,
      );
      const legacy =
        BigInt(record.offset) < (this.usersEventsUnsignedBefore.get(range.partition) ?? 0n) &&
        record.headers[OriginHeaders.signature] === undefined;
      if (untrusted && !legacy) {
        dead.push({ record, reason: 'untrusted_origin', detail: untrusted });
        continue;
      }
      try {
        const parsed = UsersEvent.safeParse(JSON.parse(record.value?.toString('utf8') ?? ''));
        if (!parsed.success)
          dead.push({
            record,
            reason: 'schema_invalid',
            detail: parsed.error.issues[0]?.message ?? 'invalid',
          });
        else {
          const op = toOperation(parsed.data, BigInt(record.offset));
          if (op) operations.push(op);
        }
      } catch (err) {
        dead.push({
          record,
          reason: 'malformed_json',
          detail: (err as Error).message.slice(0, 200),
        });
      }
    }
    const apply = async (): Promise<Outcome> => {
      const outcome = await this.users.apply(range, operations);
      if (outcome.kind === 'applied') {
        this.metrics.usersApplied.inc(outcome.applied);
        return { kind: 'applied', applied: outcome.applied, duplicates: 0, dropped: 0, stale: 0 };
      }
      return outcome;
    };
    return { apply, dead, traces: [] };
  }

  private prepareInbox(range: RecordRange, records: ConsumedRecord[]) {
    const writes: InboxWrite[] = [];
    const dead: DeadLetter[] = [];
    for (const record of records) {
      const write = toInboxWrite(record);
      if (typeof write === 'string')
        dead.push({
          record,
          reason: write === 'malformed_json' ? 'malformed_json' : 'schema_invalid',
          detail: write,
        });
      else writes.push(write);
    }
    const apply = async (): Promise<Outcome> => {
      const outcome = await this.inbox.apply(range, writes);
      if (outcome.kind === 'applied') this.metrics.inboxApplied.inc(outcome.applied);
      return outcome;
    };
    return { apply, dead, traces: [] };
  }

  private async deadLetter(batch: RecordBatch, dead: DeadLetter[]): Promise<void> {
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
    for (const d of dead) this.metrics.deadLettered.inc({ reason: d.reason });
    this.logger.warn(
      {
        topic: batch.topic,
        partition: batch.partition,
        count: dead.length,
        reasons: dead.map((d) => d.reason),
      },
      'records dead-lettered',
    );
  }
}

/** An inbox.events record as an inbox write, or why it cannot be one ('malformed_json', or the schema's complaint). */
function toInboxWrite(record: ConsumedRecord): InboxWrite | string {
  let value: unknown;
  try {
    value = JSON.parse(record.value?.toString('utf8') ?? '');
  } catch {
    return 'malformed_json';
  }
  const parsed = validateInboxEvent(value);
  if (!parsed.ok) return parsed.detail.slice(0, 200);
  const event = parsed.event;
  if (event.data.recipientId !== Number(event.subject)) return 'subject is not data.recipientId';
  const base = {
    offset: BigInt(record.offset),
    userId: event.data.recipientId,
    recordMs: Number(record.timestamp),
  };
  if (event.type === INBOX_DELIVERED_TYPE) {
    const d = event.data as Extract<InboxEvent, { type: typeof INBOX_DELIVERED_TYPE }>['data'];
    return {
      ...base,
      kind: 'delivered',
      deliveryId: d.deliveryId,
      workspaceId: d.workspaceId,
      activityJson: JSON.stringify(d.activity),
    };
  }
  const m = event.data as Exclude<InboxEvent, { type: typeof INBOX_DELIVERED_TYPE }>['data'];
  return {
    ...base,
    kind: 'marked',
    action: m.action,
    ...(m.ids ? { ids: m.ids } : {}),
    ...(m.upTo === undefined ? {} : { upTo: m.upTo }),
    ...(m.workspaceId === undefined ? {} : { workspaceId: m.workspaceId }),
  };
}

/** The script operation for a users event; undefined for events the projections do not use. */
function toOperation(event: UsersEvent, offset: bigint): UsersOperation | undefined {
  switch (event.type) {
    case UsersEventType.userDeleted:
      return { op: 'D', offset, userId: event.data.userId };
    case UsersEventType.accessChanged:
      return {
        op: 'A',
        offset,
        userId: event.data.userId,
        version: event.data.version,
        workspaces: event.data.workspaces,
      };
    case UsersEventType.workspaceRenamed:
      return {
        op: 'R',
        offset,
        workspaceId: event.data.workspaceId,
        name: event.data.name,
        version: event.data.version,
      };
    case UsersEventType.workspaceDeleted:
      return { op: 'W', offset, workspaceId: event.data.workspaceId };
    default:
      return undefined;
  }
}
