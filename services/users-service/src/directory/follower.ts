import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { backoffMs, UsersEventType } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import type { Revoke } from '../data-access/revocations.js';
import { versionOf, type UserDoc, type UsersRepository } from '../data-access/users.repository.js';
import { toProfile } from '../domain/user-views.js';
import type { Directory} from './directory.js';
import { directoryEntry, type DirectoryEntry } from './directory.js';

const USER_CHANGES = new Set<string>([
  UsersEventType.userCreated,
  UsersEventType.userUpdated,
  UsersEventType.userDeleted,
]);

/** A stored user as the directory keeps it. */
export function entryOf(doc: UserDoc): DirectoryEntry {
  return directoryEntry(toProfile(doc), versionOf(doc));
}

/**
 * Keeps this replica's Directory current: a snapshot of MongoDB, then every change any replica
 * announces on users.events. An event is only a hint: the follower reads that user again from
 * MongoDB and applies what it finds (a newer version, or its deletion), so duplicates, reordering
 * and forged records change nothing. The end offsets are read before the snapshot, and the
 * follower's group starts exactly there, so no change falls between the two.
 *
 * While Kafka is unreachable the directory still serves the last snapshot, this replica's own
 * writes and any user it had to read from MongoDB; when Kafka answers again it reloads.
 */
export class DirectoryFollower {
  private stopped = false;
  private loaded = false;
  private consumer: Consumer | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private halt: (() => void) | undefined;
  private markLoaded!: () => void;
  /** Settles when the first snapshot is loaded. */
  readonly firstLoad = new Promise<void>((resolve) => (this.markLoaded = resolve));

  constructor(
    readonly directory: Directory,
    private readonly users: UsersRepository,
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly log: Logger,
    /** Told, for each user a users.events record names, whether their tokens are now refused. */
    private readonly revoke: Revoke = async () => undefined,
  ) {}

  /** True once a snapshot is loaded. */
  get ready(): boolean {
    return this.loaded;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Stops following. A consumer still joining its group cannot be interrupted (kafkajs finishes
   * the join, seconds on a fresh group, then leaves): shutdown waits for it at most a second.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.halt?.();
    void this.consumer?.disconnect().catch(() => undefined);
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, 1000).unref())]);
  }

  /** Reads one user from MongoDB and applies it: the entry, or undefined when it does not exist (any more). */
  async refresh(id: number): Promise<DirectoryEntry | undefined> {
    const doc = await this.users.findById(id);
    if (!doc) {
      // A tombstone, or purged after one (ids are never reused): gone for good. An id that never
      // existed is not remembered, so probing random ids costs no memory.
      if (this.directory.get(id) || (await this.users.exists(id))) this.directory.remove(id);
      return undefined;
    }
    this.directory.apply(entryOf(doc));
    return this.directory.get(id);
  }

  private async run(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      const admin = this.kafka.admin();
      try {
        const offsets = await admin
          .connect()
          .then(() => admin.fetchTopicOffsets(this.topic))
          .catch((err: unknown) => {
            this.log.warn(
              { err },
              "kafka not reachable: the directory serves its snapshot and this replica's writes until it is",
            );
            return undefined;
          });
        // Without Kafka the snapshot is loaded once; with it, again each time following starts.
        if (offsets || !this.loaded) await this.loadSnapshot();
        if (offsets && !this.stopped) {
          attempt = 0;
          await this.follow(
            admin,
            offsets.map((o) => ({ partition: o.partition, offset: o.offset })),
          );
        }
      } catch (err) {
        this.log.warn({ err, attempt }, 'directory follower failed; starting again');
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      await this.sleep(backoffMs(Math.max(attempt, 1), 500, 30_000));
    }
  }

  private async loadSnapshot(): Promise<void> {
    const started = performance.now();
    const entries: DirectoryEntry[] = [];
    for await (const doc of this.users.live()) entries.push(entryOf(doc));
    this.directory.load(entries);
    this.loaded = true;
    this.markLoaded();
    this.log.info(
      { users: this.directory.size, ms: Math.round(performance.now() - started) },
      'directory loaded',
    );
  }

  /** Consumes users.events from `offsets` until the consumer fails or the follower stops. */
  private async follow(
    admin: Admin,
    offsets: { partition: number; offset: string }[],
  ): Promise<void> {
    // A group of its own, positioned before it joins: every replica reads every partition.
    const groupId = `users-service-directory-${hostname()}-${randomUUID()}`;
    await admin.setOffsets({ groupId, topic: this.topic, partitions: offsets });
    const consumer = (this.consumer = this.kafka.consumer({
      groupId,
      maxWaitTimeInMs: 100,
      retry: { retries: 5 },
    }));
    try {
      // Ends when the consumer fails, or when the follower stops (even in the middle of joining).
      const ended = new Promise<void>((resolve) => {
        this.halt = resolve;
        if (this.stopped) resolve();
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          this.log.warn({ err: payload.error }, 'directory consumer crashed');
          resolve();
        });
        consumer.on(consumer.events.STOP, () => resolve());
      });
      const running = (async () => {
        await consumer.connect();
        await consumer.subscribe({ topic: this.topic });
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const ids = new Set<number>();
            for (const message of batch.messages) {
              const id = changedUser(message.value);
              if (id !== undefined) ids.add(id);
            }
            await Promise.all(
              [...ids].map(async (id) => {
                const known = this.directory.get(id) !== undefined;
                const entry = await this.refresh(id);
                if (entry) await this.revoke(id, !entry.user.isActive);
                else if (known) await this.revoke(id, true);
              }),
            );
          },
        });
      })();
      running.catch((err: unknown) => {
        this.log.warn({ err }, 'directory consumer could not start');
        this.halt?.();
      });
      await ended;
    } finally {
      this.consumer = undefined;
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** The user a users.events record says changed, if it is a user change. */
function changedUser(value: Buffer | null): number | undefined {
  if (!value) return undefined;
  try {
    const event = JSON.parse(value.toString('utf8')) as {
      type?: unknown;
      data?: { user?: { id?: unknown }; userId?: unknown };
    };
    if (typeof event.type !== 'string' || !USER_CHANGES.has(event.type)) return undefined;
    const id = event.data?.user?.id ?? event.data?.userId;
    return Number.isSafeInteger(id) && (id as number) > 0 ? (id as number) : undefined;
  } catch {
    return undefined;
  }
}
