import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '@suite/logger';
import type { ConsumerPort, LogOffsets, TopicPartition } from '../data-access/consumer.port.js';
import type { RecordRange } from '../data-access/activity.transaction.js';
import type { ProjectionCondition, ProjectionState } from '../data-access/projection.state.js';

/** The heal lock's lease, renewed while the holder works: how long a holder that died holds back the others. */
const HEAL_LEASE_MS = 10_000;

interface Progress extends TopicPartition {
  /** The next offset this consumer last stored for the partition; null when it stored none. */
  expected: bigint | null;
}

/**
 * Keeps the projections and the consumer in step with each other and with the log:
 *
 * - Redis behind the consumer (a replica promoted with older data, a restored snapshot): the
 *   consumer seeks back to the stored offset and re-applies; the outcome is exact.
 * - Redis without projections (flushed, restarted empty, evicted): one process drops what is left,
 *   claims a new generation with the log's end offsets as targets, and every consumer replays its
 *   partitions from the start of the log. Until the targets are reached the service is unready
 *   and reads answer 503.
 *
 * Transactions notice both on their own partition; `tick` (run every few hundred ms) notices them
 * for idle partitions and keeps the condition reads and readiness go by.
 */
export class ProjectionKeeper {
  private readonly progress = new Map<string, Progress>();
  private healing: Promise<void> | undefined;
  private current: ProjectionCondition | undefined;
  private readonly ready: Gauge;
  private readonly remaining: Gauge;
  private readonly heals: Counter<'kind'>;

  constructor(
    private readonly state: ProjectionState,
    private readonly log: LogOffsets,
    private readonly topics: string[],
    private readonly logger: Logger,
    registry: Registry,
  ) {
    const r = [registry];
    this.ready = new Gauge({
      name: 'activity_projection_ready',
      help: '1 while the projections are whole (not lost, not rebuilding, in this layout)',
      registers: r,
    });
    this.remaining = new Gauge({
      name: 'activity_projection_rebuild_remaining_records',
      help: 'Records still to apply before a rebuild is complete (0 when not rebuilding)',
      registers: r,
    });
    this.heals = new Counter({
      name: 'activity_projection_heals_total',
      help: 'Times the consumer found Redis elsewhere than itself: rewind (behind, re-applied) or rebuild (projections gone)',
      labelNames: ['kind'],
      registers: r,
    });
  }

  /** What reads and readiness go by; undefined before the first check. */
  get condition(): ProjectionCondition | undefined {
    return this.current;
  }

  private consumer: Pick<ConsumerPort, 'seek'> | undefined;

  /** Lets the keeper move the consumer (only a process that consumes heals; others only watch). */
  attach(consumer: Pick<ConsumerPort, 'seek'>): void {
    this.consumer = consumer;
  }

  /** The first offset the log still holds for a partition. */
  private async logStart(p: TopicPartition): Promise<bigint> {
    return (await this.log.offsets(p.topic)).find((o) => o.partition === p.partition)?.low ?? 0n;
  }

  /**
   * Moves the consumer to `offset`, or to the log's first offset when there is none or it is gone
   * (not kafkajs's "earliest": it would commit that to the group as -2, which lag tooling cannot read).
   */
  private async seek(p: TopicPartition, offset: bigint | null, logStart?: bigint): Promise<void> {
    const low = logStart ?? (await this.logStart(p));
    this.consumer?.seek(p.topic, p.partition, offset === null || offset < low ? low : offset);
  }

  /**
   * Fetches a partition again from `offset` (the inbox router asked: records there are not routed
   * yet). Batches before it that are already applied are skipped by the checkpoint.
   */
  async refetch(p: TopicPartition, offset: bigint): Promise<void> {
    await this.seek(p, offset);
  }

  /** Redis holds less than this consumer stored for the partition: counted, logged, re-applied from `stored`. */
  private async rewind(
    entry: Progress,
    stored: bigint | null,
    expected: bigint,
    logStart?: bigint,
  ): Promise<void> {
    this.heals.inc({ kind: 'rewind' });
    this.logger.warn(
      {
        topic: entry.topic,
        partition: entry.partition,
        stored: stored === null ? null : String(stored),
        expected: String(expected),
      },
      'redis is behind the consumer: re-applying from the stored offset',
    );
    entry.expected = stored;
    await this.seek(entry, stored, logStart);
  }

  /** New assignment: each partition starts at its stored offset, or at the start of the log. */
  async assigned(partitions: TopicPartition[]): Promise<(TopicPartition & { offset: bigint })[]> {
    const stored = await this.state.storedOffsets(partitions);
    this.progress.clear();
    return Promise.all(
      partitions.map(async (p, i) => {
        const expected = stored[i] ?? null;
        this.progress.set(`${p.topic}:${p.partition}`, { ...p, expected });
        return { ...p, offset: expected ?? (await this.logStart(p)) };
      }),
    );
  }

  /** A transaction stored `next` for the partition. */
  applied(p: TopicPartition, next: bigint): void {
    const entry = this.progress.get(`${p.topic}:${p.partition}`);
    if (entry) entry.expected = next;
    else this.progress.set(`${p.topic}:${p.partition}`, { ...p, expected: next });
  }

  /**
   * A range of transaction markers or aborted records (no data): the checkpoint moves past it when it
   * stands at or in it (a checkpoint behind it is left for the next data batch to find).
   */
  async pass(range: RecordRange): Promise<boolean> {
    return this.state.passOffset(range, range.first, range.last + 1n);
  }

  /**
   * A transaction found the stored offset before its range (or none). Either the range starts at
   * the log's start (apply it: nothing older exists), or the consumer seeks back to the stored offset.
   */
  async behind(range: RecordRange, stored: bigint | null): Promise<'from-log-start' | 'seeked'> {
    const low = await this.logStart(range);
    if (range.first <= low) {
      if (stored !== null)
        this.logger.error(
          {
            topic: range.topic,
            partition: range.partition,
            stored: String(stored),
            logStart: String(low),
          },
          'records between the stored offset and the log start are gone from Kafka (retention); applying from the log start',
        );
      return 'from-log-start';
    }
    const entry = this.progress.get(`${range.topic}:${range.partition}`);
    if (entry?.expected != null && (stored === null || stored < entry.expected)) {
      await this.rewind(entry, stored, entry.expected, low);
      return 'seeked';
    }
    // Not behind what this consumer stored: it was fetching from elsewhere (the group's committed offset at start).
    if (entry) entry.expected = stored;
    await this.seek(range, stored, low);
    return 'seeked';
  }

  /**
   * The projections are gone, or one slot's are (`slotLost`: a step found its slot's marker missing
   * under that generation, e.g. a cluster primary that restarted empty): drop the remains, claim a
   * new generation, replay every owned partition.
   */
  heal(slotLost?: { slot: number; generation: string }): Promise<void> {
    this.healing ??= this.healOnce(slotLost).finally(() => (this.healing = undefined));
    return this.healing;
  }

  /** Whether the projections (or the slot a step reported) still need healing, read under the heal lock. */
  private async stillLost(slotLost?: {
    slot: number;
    generation: string;
  }): Promise<'lost' | 'slot' | undefined> {
    const condition = await this.state.condition();
    if (condition.state === 'lost') return 'lost';
    if (!slotLost || !('generation' in condition) || condition.generation !== slotLost.generation)
      return undefined;
    return (await this.state.slotMarked(slotLost.slot, slotLost.generation)) ? undefined : 'slot';
  }

  private async healOnce(slotLost?: { slot: number; generation: string }): Promise<void> {
    for (;;) {
      const held = await this.state.whileHealLocked(HEAL_LEASE_MS, async () => {
        const what = await this.stillLost(slotLost);
        if (what === undefined) return;
        // A process that has seen the projections whole knows they were lost; one that just started cannot tell a fresh Redis from an emptied one.
        const lost =
          what === 'slot' || (this.current !== undefined && this.current.state !== 'lost');
        if (what === 'slot')
          this.logger.error(
            { prefix: this.state.prefix, slot: slotLost!.slot },
            'a Redis slot lost its projections (its primary restarted empty, or failed over without them): dropping the projections and rebuilding them from the log; reads answer 503 until done',
          );
        else if (lost)
          this.logger.error(
            { prefix: this.state.prefix },
            'projections lost (no layout in Redis): dropping what is left and rebuilding them from the log; reads answer 503 until done',
          );
        const dropped = await this.state.drop();
        const targets = (
          await Promise.all(
            this.topics.map(async (topic) =>
              (await this.log.offsets(topic)).map((p) => ({
                topic,
                partition: p.partition,
                offset: p.high,
              })),
            ),
          )
        ).flat();
        const generation = await this.state.claim(targets);
        if (lost) this.heals.inc({ kind: 'rebuild' });
        this.logger.warn(
          { generation, dropped, records: String(targets.reduce((n, t) => n + t.offset, 0n)) },
          'projections claimed: building them from the log',
        );
      });
      if (held) break;
      // Another process is healing: wait for its claim.
      await new Promise((r) => setTimeout(r, 250));
      if ((await this.stillLost(slotLost)) === undefined) break;
    }
    for (const entry of this.progress.values()) {
      entry.expected = null;
      await this.seek(entry, null);
    }
  }

  /** Reads the condition; a consuming process also heals and seeks partitions whose stored offset went back. */
  async tick(consuming: boolean): Promise<void> {
    let condition = await this.state.condition();
    if (condition.state === 'lost' && consuming) {
      await this.heal();
      condition = await this.state.condition();
    }
    if (
      consuming &&
      (condition.state === 'ready' || condition.state === 'rebuilding') &&
      !this.healing
    )
      await this.rewindIdle();
    this.setCondition(condition);
  }

  /** Partitions whose stored offset is now before what this consumer stored (no batch has noticed yet). */
  private async rewindIdle(): Promise<void> {
    const entries = [...this.progress.values()];
    const expected = entries.map((e) => e.expected);
    const stored = await this.state.storedOffsets(entries);
    for (const [i, entry] of entries.entries()) {
      const was = expected[i];
      const now = stored[i] ?? null;
      if (was == null || (now !== null && now >= was) || entry.expected !== was) continue;
      await this.rewind(entry, now, was);
    }
  }

  private setCondition(next: ProjectionCondition): void {
    const previous = this.current?.state;
    this.current = next;
    this.ready.set(next.state === 'ready' ? 1 : 0);
    this.remaining.set(next.state === 'rebuilding' ? next.remaining : 0);
    if (previous === next.state) return;
    if (next.state === 'ready' && previous === 'rebuilding')
      this.logger.info({ generation: next.generation }, 'projections rebuilt: ready');
    else if (next.state === 'rebuilding')
      this.logger.warn(
        { generation: next.generation, remaining: next.remaining },
        'projections rebuilding from the log: unready until done',
      );
    else if (next.state === 'foreign')
      this.logger.error(
        { found: next.found },
        'projections in another layout: unready until rebuilt (npm run projections:rebuild)',
      );
    else if (next.state === 'lost' && previous !== undefined)
      this.logger.error('projections lost (no layout in Redis)');
  }
}
