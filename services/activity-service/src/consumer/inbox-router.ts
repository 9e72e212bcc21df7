import { hash } from 'node:crypto';
import { Partitioners, type Consumer, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  INBOX_DELIVERED_TYPE,
  inboxEvent,
  ProjectionKeys,
  Topics,
  backoffMs,
  toActivity,
  type ActivityEvent,
  type EventTimeWindow,
} from '@suite/contracts';
import type { Logger } from '@suite/logger';
import type { RedisClient } from '@suite/redis';
import { decodeActivity } from '../domain/decode.js';

/** How long an open transaction of a router that died may hold the inbox back (docs/activity-service.md "Inbox"). */
const TRANSACTION_TIMEOUT_MS = 10_000;

/** Source partitions routed at the same time (each with its own transactional producer). */
const ROUTED_AT_ONCE = 6;

/**
 * Recipients one transaction routes at most. An activity's recipients are never split across two
 * transactions (the offsets commit per record), so a transaction holds up to this many plus one
 * activity's (`InboxLimits.notifyMaxUsers`). It bounds the memory and the time of a batch whose
 * activities each name many recipients, between heartbeats.
 */
export const ROUTED_PER_TRANSACTION = 5_000;

/**
 * Bytes of deliveries (values) one produce request carries at most. The broker refuses a
 * partition's batch over `message.max.bytes` (1 MB by default), and a transaction's deliveries can
 * be many megabytes (1,000 recipients of a 16 KiB activity), so they go as several sends.
 */
export const SEND_MAX_BYTES = 512 * 1024;

/** Where the router's deliveries come from in CloudEvents terms. */
export const INBOX_ROUTER_SOURCE = '/activity-service/inbox-router';

/**
 * A delivery's id: 132 bits of SHA-256 of the activity's owner, event id and recipient, as 22
 * base64url characters. The same activity routed again (a redelivery, a duplicate publish, a
 * router that restarted before its transaction committed) gives the same ids, and the inbox keeps
 * one of each.
 */
export function deliveryId(ownerId: number, eventId: string, recipientId: number): string {
  return hash('sha256', `${ownerId}\n${eventId}\n${recipientId}`, 'base64url').slice(0, 22);
}

/** The recipients an activity names, deduplicated, in order, the actor out unless `includeActor`. */
export function namedRecipients(event: ActivityEvent): number[] {
  const notify = event.data.notify;
  if (!notify) return [];
  const unique = [...new Set(notify.users)];
  return notify.includeActor ? unique : unique.filter((u) => u !== event.data.actorId);
}

/** A recipient an activity names, before the access check. */
interface Candidate {
  event: ActivityEvent;
  recipient: number;
  time: string;
}

/** One `inbox.delivered` record: keyed by its recipient. */
interface Delivery {
  key: string;
  value: string;
}

/** What the router reads of an `activity.events` record. */
type SourceRecord = Pick<KafkaMessage, 'value' | 'headers' | 'timestamp' | 'offset'>;

/** A record's bytes in a produce request besides its key and value (lengths, attributes, deltas), at most. */
const RECORD_OVERHEAD_BYTES = 32;

/**
 * Deliveries cut into sends of at most `maxBytes` (keys, values and each record's overhead); a
 * single delivery larger than that goes alone.
 */
export function inSends(deliveries: Delivery[], maxBytes: number): Delivery[][] {
  const sends: Delivery[][] = [];
  let current: Delivery[] = [];
  let bytes = 0;
  for (const d of deliveries) {
    const size = Buffer.byteLength(d.value) + Buffer.byteLength(d.key) + RECORD_OVERHEAD_BYTES;
    if (current.length > 0 && bytes + size > maxBytes) {
      sends.push(current);
      current = [];
      bytes = 0;
    }
    current.push(d);
    bytes += size;
  }
  if (current.length > 0) sends.push(current);
  return sends;
}

export interface InboxRouterOptions {
  groupId: string;
  topicPrefix: string;
  timeWindow: EventTimeWindow;
  sessionTimeoutMs: number;
  /** Whether the projections (the access replica the router reads) are whole now. */
  ready: () => boolean;
}

/**
 * Turns activities that name recipients into one `inbox.delivered` per recipient who can reach the
 * activity's workspace at that moment (the access replica in Redis), on `inbox.events` keyed by the
 * recipient. Each batch is one Kafka transaction (a batch naming many recipients, several; see
 * `ROUTED_PER_TRANSACTION` and `SEND_MAX_BYTES`): the deliveries and the consumed offsets commit
 * together (`sendOffsets`), and the inbox consumer reads `read_committed`, so an activity is routed
 * once even across crashes. The decision is recorded in Kafka: rebuilding Redis replays the
 * deliveries and never routes again.
 *
 * Each source partition has its own transactional producer, with an id made of the group and the
 * partition (`producerFor`): the classic exactly-once pattern, so a new owner fences a zombie, and a
 * restart aborts what the killed process left open. Duplicates could only come from a zombie not
 * yet fenced, and they carry the same deterministic ids, which the inbox keeps once.
 */
export class InboxRouter {
  private readonly consumer: Consumer;
  /** One transactional producer per source partition, created on its first batch (see `producerFor`). */
  private readonly producers = new Map<number, Producer>();
  private readonly source: string;
  private readonly target: string;
  private readonly routed: Counter<'outcome'>;
  private readonly batchSeconds: Histogram;
  private crashed = false;
  private readonly kafka: Kafka;

  constructor(
    kafka: Kafka,
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly options: InboxRouterOptions,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.source = `${options.topicPrefix}${Topics.activityEvents}`;
    this.target = `${options.topicPrefix}${Topics.inboxEvents}`;
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.floor(options.sessionTimeoutMs / 5),
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.kafka = kafka;
    this.routed = new Counter({
      name: 'inbox_router_recipients_total',
      help: 'Recipients the inbox router considered, by outcome: delivered, no_access (cannot reach the workspace, or deleted)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.batchSeconds = new Histogram({
      name: 'inbox_router_batch_duration_seconds',
      help: 'Time to route one transaction of activity.events records (a batch, or a part of a large one): access checks and the transaction',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.crashed = !payload.restart;
      this.logger.error({ err: payload.error, restart: payload.restart }, 'inbox router crashed');
    });
  }

  /**
   * The transactional producer of one source partition. Its id is the group's and the partition's,
   * the same in every process: whoever routes the partition next (after a rebalance, or a restart
   * after SIGKILL) fences the one before and aborts its open transaction at once, and partitions
   * route in parallel, each one transaction at a time.
   */
  private async producerFor(partition: number): Promise<Producer> {
    let producer = this.producers.get(partition);
    if (!producer) {
      producer = this.kafka.producer({
        transactionalId: `${this.options.groupId}-${this.source}-${partition}`,
        // A router that died without a successor for its partition holds the inbox consumers
        // (read_committed) back until the broker aborts its transaction: at most this long.
        transactionTimeout: TRANSACTION_TIMEOUT_MS,
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      this.producers.set(partition, producer);
      await producer.connect();
    }
    return producer;
  }

  /** Drops a partition's producer (fenced by a newer owner, or failed): the next batch makes a new one. */
  private async dropProducer(partition: number): Promise<void> {
    const producer = this.producers.get(partition);
    this.producers.delete(partition);
    await producer?.disconnect().catch(() => undefined);
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.source], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: ROUTED_AT_ONCE,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (batch.messages.length === 0) return;
        // The access replica must be whole before anyone is left out for lacking access.
        for (let attempt = 1; !this.options.ready(); attempt++) {
          if (!isRunning() || isStale()) return;
          await new Promise((r) => setTimeout(r, backoffMs(attempt, 100, 2000)));
          await heartbeat();
        }
        for (const part of this.transactions(batch.messages)) {
          if (!isRunning() || isStale()) return;
          const end = this.batchSeconds.startTimer();
          const deliveries = await this.deliveries(part.candidates);
          await this.commit(batch.topic, batch.partition, part.last, deliveries);
          resolveOffset(part.last);
          await heartbeat();
          end();
        }
      },
    });
  }

  /**
   * One transaction of a source partition: the deliveries, in sends of at most `SEND_MAX_BYTES`,
   * and the offset after `last`, committed together.
   */
  private async commit(
    topic: string,
    partition: number,
    last: string,
    deliveries: Delivery[],
  ): Promise<void> {
    const producer = await this.producerFor(partition);
    const tx = await producer.transaction();
    try {
      for (const messages of inSends(deliveries, SEND_MAX_BYTES))
        await tx.send({ topic: this.target, acks: -1, messages });
      const offset = String(BigInt(last) + 1n);
      await tx.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [{ topic, partitions: [{ partition, offset }] }],
      });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      this.logger.warn({ err, partition }, 'inbox router transaction failed; the batch is retried');
      // Fenced (another process routes this partition now) or broken: start over with a fresh one.
      await this.dropProducer(partition);
      throw err;
    }
  }

  /**
   * A batch's records cut into transactions at record boundaries, each with the recipients its
   * records name: a part ends once it holds `ROUTED_PER_TRANSACTION`, and the last part ends at the
   * batch's last record (with no recipients at all, it still commits the offsets).
   */
  private *transactions(
    messages: SourceRecord[],
  ): Generator<{ last: string; candidates: Candidate[] }> {
    let candidates: Candidate[] = [];
    for (const [i, m] of messages.entries()) {
      for (const candidate of this.candidatesOf(m)) candidates.push(candidate);
      if (candidates.length >= ROUTED_PER_TRANSACTION || i === messages.length - 1) {
        yield { last: m.offset, candidates };
        candidates = [];
      }
    }
  }

  /** The recipients a record names, when it is a valid activity that names any. */
  private candidatesOf(m: SourceRecord): Candidate[] {
    // Most activities name no one: those skip the decode (an escaped key, `\u`, is decoded to be sure).
    if (!m.value || (!m.value.includes('"notify"') && !m.value.includes('\\u'))) return [];
    const headers = Object.fromEntries(
      Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]),
    );
    const decoded = decodeActivity(m.value, headers, {
      atMs: Number(m.timestamp),
      window: this.options.timeWindow,
    });
    // Invalid records are the projector's to dead-letter; the router routes valid ones only.
    if (!decoded.ok) return [];
    const time = new Date(Number(m.timestamp)).toISOString();
    return namedRecipients(decoded.event).map((recipient) => ({
      event: decoded.event,
      recipient,
      time,
    }));
  }

  /** The deliveries to the candidates who can reach the activity's workspace. */
  private async deliveries(candidates: Candidate[]): Promise<Delivery[]> {
    const p = this.prefix;
    // A deleted user's access replica is gone with them (and never comes back: their tombstone refuses
    // later access changes), so the replica alone says who may receive.
    const allowed = await Promise.all(
      candidates.map(
        async ({ event, recipient }) =>
          (await this.redis.hexists(
            ProjectionKeys.access(p, recipient),
            String(event.data.workspaceId),
          )) === 1,
      ),
    );
    const deliveries: Delivery[] = [];
    candidates.forEach(({ event, recipient, time }, i) => {
      if (!allowed[i]) {
        this.routed.inc({ outcome: 'no_access' });
        return;
      }
      this.routed.inc({ outcome: 'delivered' });
      const id = deliveryId(Number(event.subject), event.id, recipient);
      const delivered = inboxEvent(
        { id, source: INBOX_ROUTER_SOURCE, time },
        {
          type: INBOX_DELIVERED_TYPE,
          data: {
            deliveryId: id,
            recipientId: recipient,
            workspaceId: event.data.workspaceId,
            activity: toActivity(event),
          },
        },
      );
      deliveries.push({ key: String(recipient), value: JSON.stringify(delivered) });
    });
    return deliveries;
  }

  healthy(): boolean {
    return !this.crashed;
  }

  /** Finishes the batch in flight, leaves the group, closes the producer. */
  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await Promise.all([...this.producers.keys()].map((p) => this.dropProducer(p)));
  }
}
