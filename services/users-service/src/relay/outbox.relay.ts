import type { Producer } from 'kafkajs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { backoffMs, UsersEventType, Topics } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import { USERS_SERVICE_ORIGIN, signOrigin } from '@suite/auth';
import type { AccessRepository } from '../data-access/access.repository.js';
import type { OutboxEntry } from '../data-access/outbox.js';
import { OutboxStore, type OutboxKind, type PendingDoc } from '../data-access/outbox-store.js';
import type { UsersRepository } from '../data-access/users.repository.js';
import { effectiveWorkspaces } from '../domain/effective-access.js';
import { usersEvent } from '../domain/events.js';

export interface RelayOptions {
  topicPrefix: string;
  /** Signs each record's mark of origin, which the activity-service checks (docs/operations.md). */
  originKey: string;
  sweepIntervalMs: number;
  batchSize: number;
}

/**
 * Publishes outbox entries to Kafka (acks=all, idempotent producer), then removes them.
 * At-least-once: a crash between the send and the removal republishes entries with the
 * same event ids, which consumers deduplicate. Woken right after each write; a periodic
 * sweep picks up whatever a crash or a Kafka outage left behind.
 */
/** How many documents' published entries are removed at once (each a locked read-change-write on FerretDB). */
const CLEAN_UP_PARALLEL = 16;

/** The pending-documents gauge stops counting here, so a scrape stays cheap during a long outage. */
const PENDING_COUNT_LIMIT = 10_000;

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** A pass over every pending document is due (a sweep, or a write that named no user). */
  private full = true;
  /** Users whose documents were written and may wait to be published. */
  private readonly wanted = new Set<number>();
  private started = false;
  private stopped = false;
  private failures = 0;
  private readonly published: Counter<'type'>;
  private readonly errors: Counter;
  private readonly store: OutboxStore;

  constructor(
    private readonly users: UsersRepository,
    private readonly access: AccessRepository,
    private readonly producer: Producer,
    private readonly logger: Logger,
    registry: Registry,
    private readonly options: RelayOptions,
  ) {
    this.published = new Counter({
      name: 'outbox_events_published_total',
      help: 'Events the outbox relay published to Kafka',
      labelNames: ['type'],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'outbox_publish_failures_total',
      help: 'Outbox relay passes that failed and will be retried',
      registers: [registry],
    });
    const store = (this.store = new OutboxStore(users, access));
    new Gauge({
      name: 'outbox_pending_documents',
      help: 'Documents whose outbox entries are not yet published, by collection (counted at scrape time, up to 10000 each)',
      labelNames: ['collection'],
      registers: [registry],
      async collect() {
        const counts = await Promise.all(
          store.kinds.map((kind) => store.countPending(kind, PENDING_COUNT_LIMIT)),
        );
        store.kinds.forEach((kind, i) => {
          if (counts[i] !== undefined) this.set({ collection: kind }, counts[i]);
        });
      },
    });
  }

  start(): void {
    this.started = true;
    this.kick();
  }

  /**
   * Asks for a pass soon; passes never overlap. Naming the user whose document was just written
   * lets the pass read that document by id, where a full pass queries every pending document (on
   * FerretDB that reads the whole backlog however small the batch).
   */
  kick(userId?: number): void {
    // Before start (or with the relay disabled: OUTBOX_RELAY_ENABLED=false) nothing is sent.
    if (!this.started || this.stopped) return;
    if (userId === undefined) this.full = true;
    else this.wanted.add(userId);
    this.schedule();
  }

  /** Runs a pass now, or right after the one in flight; between passes the sweep timer waits. */
  private schedule(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        // More came in during the pass: what it named (a full pass only if one was asked for).
        this.again = false;
        this.schedule();
        return;
      }
      const delay =
        this.failures > 0 ? backoffMs(this.failures, 250, 30_000) : this.options.sweepIntervalMs;
      this.timer = setTimeout(() => this.kick(), delay);
    });
  }

  /** Finishes the pass in flight and stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async pass(): Promise<void> {
    const full = this.full;
    const wanted = [...this.wanted].slice(0, this.options.batchSize);
    this.full = false;
    for (const id of wanted) this.wanted.delete(id);
    try {
      if (wanted.length > 0)
        await this.publishBatch('users', await this.store.pendingByIds('users', wanted));
      if (this.wanted.size > 0) this.again = true;
      if (full)
        for (const kind of this.store.kinds)
          await this.publishBatch(kind, await this.store.pending(kind, this.options.batchSize));
      this.failures = 0;
    } catch (err) {
      this.failures += 1;
      this.errors.inc();
      // Whatever this pass took on is left to the sweep.
      this.full = true;
      this.logger.warn(
        { err, attempt: this.failures },
        'outbox relay pass failed; will retry with backoff',
      );
    }
  }

  /**
   * Publishes the entries of `docs` in one send (each document's in `seq` order, so one key's
   * records keep their order), then removes them from their documents, a few documents at a time.
   */
  private async publishBatch(kind: OutboxKind, docs: PendingDoc[]): Promise<void> {
    const messages: { topic: string; key: string; value: string; type: string }[] = [];
    const done: { doc: PendingDoc; entryIds: string[] }[] = [];
    for (const doc of docs) {
      const entries = Object.values(doc.outbox ?? {}).sort((a, b) => a.seq - b.seq);
      for (const entry of entries) messages.push(...(await this.messagesFor(entry)));
      done.push({ doc, entryIds: entries.map((e) => e.id) });
    }
    const byTopic = new Map<
      string,
      { key: string; value: string; headers: Record<string, string> }[]
    >();
    for (const m of messages) {
      const signed = {
        key: m.key,
        value: m.value,
        headers: signOrigin(USERS_SERVICE_ORIGIN, this.options.originKey, m.value),
      };
      const list = byTopic.get(m.topic);
      if (list) list.push(signed);
      else byTopic.set(m.topic, [signed]);
    }
    if (byTopic.size > 0) {
      // connect() is a no-op when connected, and reconnects after a broker outage.
      await this.producer.connect();
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })),
      });
    }
    for (const m of messages) this.published.inc({ type: m.type });
    for (let i = 0; i < done.length; i += CLEAN_UP_PARALLEL) {
      await Promise.all(
        done.slice(i, i + CLEAN_UP_PARALLEL).map(async ({ doc, entryIds }) => {
          if (entryIds.length > 0) await this.store.published(kind, doc._id, entryIds);
          if (doc.deletedAt) await this.store.purge(kind, doc._id);
        }),
      );
    }
  }

  private async messagesFor(
    entry: OutboxEntry,
  ): Promise<{ topic: string; key: string; value: string; type: string }[]> {
    const topic = `${this.options.topicPrefix}${Topics.usersEvents}`;
    if (entry.kind === 'event') {
      return [
        {
          topic,
          key: entry.key,
          value: JSON.stringify(entry.event),
          type: String(entry.event.type),
        },
      ];
    }
    const userIds = new Set(entry.userIds);
    if (entry.groupId !== undefined) {
      for (const m of await this.store.groupMembers(entry.groupId)) userIds.add(m);
    }
    const out: { topic: string; key: string; value: string; type: string }[] = [];
    for (const userId of userIds) {
      if (!(await this.users.findById(userId))) continue;
      const version = await this.store.nextAccessVersion();
      const workspaces = (await effectiveWorkspaces(this.access, userId)).map((w) => ({
        workspaceId: w.workspace.id,
        name: w.workspace.name,
        role: w.role,
      }));
      const event = usersEvent(
        UsersEventType.accessChanged,
        `${entry.id}:${userId}`,
        userId,
        { userId, version, workspaces },
        new Date(),
      );
      out.push({ topic, key: String(userId), value: JSON.stringify(event), type: event.type });
    }
    return out;
  }
}
