import { hash } from 'node:crypto';
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  INBOX_DELIVERED_TYPE,
  inboxEvent,
  ProjectionKeys,
  toActivity,
  type ActivityEvent,
} from '@suite/contracts';
import type { Logger } from '@suite/logger';
import type { RedisClient } from '@suite/redis';
import type { LogOffsets } from '../data-access/consumer.port.js';

/** How long an open transaction of a router that died may hold the inbox back (docs/activity-service.md "Inbox"). */
const TRANSACTION_TIMEOUT_MS = 10_000;

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

/** One `inbox.delivered` record: keyed by its recipient. */
interface Delivery {
  key: string;
  value: string;
}

/** A valid activity that names recipients, as the projector decoded it from its record. */
export interface Notifying {
  offset: bigint;
  /** The record's timestamp (ms): the delivery's time. */
  recordMs: number;
  event: ActivityEvent;
}

/**
 * What routing says of a batch before the projector applies it:
 * - `route`: it holds records not routed yet, from the partition's position on; route them after;
 * - `skip`: everything in it was routed already (a rebuild, a redelivery);
 * - `wait`: the access replica is not whole (a rebuild or heal): leave the batch, try again soon;
 * - `seek`: it starts after the partition's position: fetch from `offset` instead.
 */
export type RoutePlan =
  { kind: 'route' } | { kind: 'skip' } | { kind: 'wait' } | { kind: 'seek'; offset: bigint };

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
  /** The group the router's progress is committed to (`sendOffsets`), per source partition. */
  groupId: string;
  /** The source topic (`activity.events`, prefixed) and the target (`inbox.events`, prefixed). */
  source: string;
  target: string;
  /** Whether the access replica the router reads is whole now. */
  ready: () => boolean;
  /** Has the projection consumer fetch a source partition again from `offset` (after a failed route). */
  refetch: (partition: number, offset: bigint) => Promise<void>;
}

/**
 * Turns activities that name recipients into one `inbox.delivered` per recipient who can reach the
 * activity's workspace at that moment (the access replica in Redis), on `inbox.events` keyed by the
 * recipient.
 *
 * It routes from the projection consumer's own batches of `activity.events`: the projector decodes
 * each record once, applies the batch, then hands the router the activities that name recipients
 * (`route`). The router's progress is not the projection's: it is the committed offset of its own
 * group (`groupId`), which each transaction moves with its deliveries (`sendOffsets`), and which
 * the inbox consumer sees atomically with them (it reads `read_committed`). So an activity is routed
 * once across crashes, and a rebuild, which replays the log from its start, routes nothing again:
 * records below that offset are skipped (`plan`). A batch is one transaction (a batch naming many
 * recipients, several; see `ROUTED_PER_TRANSACTION` and `SEND_MAX_BYTES`).
 *
 * Each source partition has its own transactional producer, with an id made of the group and the
 * partition (`producerFor`), created when the projection consumer is assigned the partition: the
 * classic exactly-once pattern, so a new owner fences a zombie and aborts what a killed process left
 * open before it reads where routing stands. Duplicates could only come from a zombie not yet
 * fenced, and they carry the same deterministic ids, which the inbox keeps once.
 */
export class InboxRouter {
  /** One transactional producer per source partition (see `producerFor`). */
  private readonly producers = new Map<number, Producer>();
  /**
   * Per source partition: the next offset to route, once read from the group's committed offsets,
   * and moved past each batch as its route is scheduled.
   */
  private readonly positions = new Map<number, bigint>();
  /** Per source partition: whether this process fenced the previous owner (and read where it left off). */
  private readonly fenced = new Set<number>();
  /** Per source partition: the routes scheduled and not finished, in order. */
  private readonly chains = new Map<number, { tail: Promise<unknown>; queued: number }>();
  /** Per source partition: failed routes so far (the routes queued behind one leave their records to the refetch). */
  private readonly failures = new Map<number, number>();
  private admin: Admin | undefined;
  private readonly routed: Counter<'outcome'>;
  private readonly batchSeconds: Histogram;

  constructor(
    private readonly kafka: Kafka,
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly logOffsets: LogOffsets,
    private readonly options: InboxRouterOptions,
    private readonly logger: Logger,
    registry: Registry,
  ) {
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
  }

  /**
   * The source partitions the projection consumer now owns (every assignment replaces the last),
   * once the routes scheduled before are done: where routing stands in each, by the group's
   * committed offsets. The consumer must fetch each from there at the latest.
   */
  async assigned(partitions: number[]): Promise<Map<number, bigint>> {
    await this.drain();
    const owned = new Set(partitions);
    await Promise.all(
      [...this.producers.keys()].filter((p) => !owned.has(p)).map((p) => this.dropProducer(p)),
    );
    this.positions.clear();
    this.fenced.clear();
    const committed = await this.committed(partitions);
    for (const [p, at] of committed) this.positions.set(p, at);
    return committed;
  }

  /** The group's committed offsets (the log's start where there is none, or it is gone). */
  private async committed(partitions: number[]): Promise<Map<number, bigint>> {
    const positions = new Map<number, bigint>();
    if (partitions.length === 0) return positions;
    this.admin ??= this.kafka.admin();
    await this.admin.connect();
    const [group] = await this.admin.fetchOffsets({
      groupId: this.options.groupId,
      topics: [this.options.source],
    });
    const bounds = await this.logOffsets.offsets(this.options.source);
    for (const p of partitions) {
      const at = BigInt(group?.partitions.find((c) => c.partition === p)?.offset ?? '-1');
      const low = bounds.find((b) => b.partition === p)?.low ?? 0n;
      positions.set(p, at < low ? low : at);
    }
    return positions;
  }

  /** What to do with a batch of the source partition that spans `first`..`last` (markers included). */
  async plan(partition: number, first: bigint, last: bigint): Promise<RoutePlan> {
    if (!this.positions.has(partition)) {
      // A route failed (or the assignment's read did): once its cleanup is done, read again.
      await this.chains.get(partition)?.tail;
      const at = (await this.committed([partition])).get(partition)!;
      this.positions.set(partition, at);
    }
    const position = this.positions.get(partition)!;
    if (last < position) return { kind: 'skip' };
    if (first > position) return { kind: 'seek', offset: position };
    // The access replica must be whole before anyone is left out for lacking access.
    return this.options.ready() ? { kind: 'route' } : { kind: 'wait' };
  }

  /**
   * A batch of only transaction markers or aborted records: nothing to route, and the position
   * moves past it when it stands in it (the next transaction commits the move).
   */
  passed(partition: number, first: bigint, last: bigint): void {
    const position = this.positions.get(partition);
    if (position !== undefined && first <= position && position <= last)
      this.positions.set(partition, last + 1n);
  }

  /**
   * Schedules the routing of a batch `plan` said `route` to, once the projector applied it: the
   * activities in `notifying` from the partition's position on, in transactions, the last of which
   * moves the group's offset past `last`. The projector goes on with its next batches meanwhile
   * (routing waits on Kafka, the projection on Redis); each partition routes in order, one
   * transaction at a time, and the projector waits when two routes are queued already.
   *
   * When a route fails, the routes queued behind it are dropped, and the consumer fetches the
   * partition again from where the failed one began (`refetch`): the projection skips what it
   * applied, and routing reads its position again.
   */
  route(partition: number, last: bigint, notifying: Notifying[]): Promise<unknown> {
    const from = this.positions.get(partition);
    if (from === undefined || last < from) return Promise.resolve();
    this.positions.set(partition, last + 1n);
    const failures = this.failures.get(partition) ?? 0;
    const chain = this.chains.get(partition) ?? { tail: Promise.resolve(), queued: 0 };
    this.chains.set(partition, chain);
    const previous = chain.tail;
    chain.queued++;
    chain.tail = previous
      .then(async () => {
        // An earlier route failed: the refetch it asked for brings these records again.
        if ((this.failures.get(partition) ?? 0) !== failures) return;
        try {
          await this.routeNow(partition, from, last, notifying);
        } catch (err) {
          this.failures.set(partition, failures + 1);
          this.positions.delete(partition);
          this.fenced.delete(partition);
          this.logger.warn(
            { err, partition },
            'inbox routing failed; the partition is fetched again from where routing stands',
          );
          await this.options.refetch(partition, from).catch(() => undefined);
        }
      })
      .finally(() => chain.queued--);
    return chain.queued > 2 ? previous : Promise.resolve();
  }

  /** Routes the batch now: fences the partition's previous owner first, once. */
  private async routeNow(
    partition: number,
    from: bigint,
    last: bigint,
    notifying: Notifying[],
  ): Promise<void> {
    let start = from;
    if (!this.fenced.has(partition)) {
      // The previous owner may have routed on until this producer fenced it: read again, now stable.
      await this.producerFor(partition);
      const stable = (await this.committed([partition])).get(partition)!;
      this.fenced.add(partition);
      if (stable > start) start = stable;
      if (stable > (this.positions.get(partition) ?? 0n)) this.positions.set(partition, stable);
      if (start > last) return;
    }
    // The replica was whole when the batch was planned; routing now with a part of it would leave people out.
    if (!this.options.ready())
      throw new Error('the access replica is being rebuilt; routing later');
    const pending = notifying.filter((n) => n.offset >= start);
    for (const part of transactions(pending, last)) {
      const end = this.batchSeconds.startTimer();
      await this.commit(partition, part.last, await this.deliveries(part.records));
      end();
    }
  }

  /** Waits for every scheduled route to finish. */
  private async drain(): Promise<void> {
    await Promise.all([...this.chains.values()].map((c) => c.tail));
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
        transactionalId: `${this.options.groupId}-${this.options.source}-${partition}`,
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

  /** Drops a partition's producer (fenced by a newer owner, failed, or no longer assigned). */
  private async dropProducer(partition: number): Promise<void> {
    const producer = this.producers.get(partition);
    this.producers.delete(partition);
    this.positions.delete(partition);
    await producer?.disconnect().catch(() => undefined);
  }

  /**
   * One transaction of a source partition: the deliveries, in sends of at most `SEND_MAX_BYTES`,
   * and the offset after `last`, committed together.
   */
  private async commit(partition: number, last: bigint, deliveries: Delivery[]): Promise<void> {
    const producer = await this.producerFor(partition);
    const tx = await producer.transaction();
    try {
      for (const messages of inSends(deliveries, SEND_MAX_BYTES))
        await tx.send({ topic: this.options.target, acks: -1, messages });
      await tx.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [
          {
            topic: this.options.source,
            partitions: [{ partition, offset: String(last + 1n) }],
          },
        ],
      });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      this.logger.warn({ err, partition }, 'inbox router transaction failed; the batch is retried');
      // Fenced (another process routes this partition now) or broken: start over with a fresh one,
      // and read where routing stands again.
      await this.dropProducer(partition);
      throw err;
    }
  }

  /** The deliveries to the recipients the records name who can reach the activity's workspace. */
  private async deliveries(records: Notifying[]): Promise<Delivery[]> {
    const candidates = records.flatMap(({ event, recordMs }) => {
      const time = new Date(recordMs).toISOString();
      // One read model per activity, shared by its recipients' deliveries.
      const activity = toActivity(event);
      return namedRecipients(event).map((recipient) => ({ event, activity, recipient, time }));
    });
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
    candidates.forEach(({ event, activity, recipient, time }, i) => {
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
            activity,
          },
        },
      );
      deliveries.push({ key: String(recipient), value: JSON.stringify(delivered) });
    });
    return deliveries;
  }

  /** Finishes the scheduled routes, closes the producers and the admin client (after the projection consumer stopped). */
  async stop(): Promise<void> {
    await this.drain();
    await Promise.all([...this.producers.keys()].map((p) => this.dropProducer(p)));
    await this.admin?.disconnect();
  }
}

/**
 * A batch's activities cut into transactions at record boundaries: a part ends once it names
 * `ROUTED_PER_TRANSACTION` recipients, and the last part ends at the batch's `last` offset (with no
 * activities at all, it still commits the offsets).
 */
function* transactions(
  records: Notifying[],
  last: bigint,
): Generator<{ last: bigint; records: Notifying[] }> {
  let part: Notifying[] = [];
  let named = 0;
  for (const [i, record] of records.entries()) {
    part.push(record);
    named += record.event.data.notify?.users.length ?? 0;
    if (named >= ROUTED_PER_TRANSACTION && i < records.length - 1) {
      yield { last: record.offset, records: part };
      part = [];
      named = 0;
    }
  }
  yield { last, records: part };
}
