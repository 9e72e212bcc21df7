import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { backoffMs, UsersEventType } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import type { Revoke } from '../data-access/revocations.js';
import type { UsersRepository } from '../data-access/users.repository.js';
import type { Directory, DirectoryEntry } from './directory.js';
import { entryOf, loadSnapshot } from './snapshot.js';

const USER_CHANGES = new Set<string>([
  UsersEventType.userCreated,
  UsersEventType.userUpdated,
  UsersEventType.userDeleted,
]);

/** How often a replica checks that the directory is built (and builds it when it is not). */
const WATCH_MS = 2000;
/** The build lock's lease, renewed while the build runs: a builder that dies holds the others back this long at most. */
const BUILD_LEASE_MS = 15_000;
/** How long a build waits for the follower's consumer to join before it snapshots anyway. */
const JOIN_WAIT_MS = 10_000;

/**
 * Keeps the shared directory (in Redis) current. Every replica writes the users it changes into the
 * directory itself before it answers; this follower is the safety net and the builder:
 * - It consumes users.events in one consumer group shared by all replicas, so each change is
 *   followed once. An event is only a hint: the follower reads that user again from MongoDB and
 *   applies what it finds (a newer version, or its deletion), so duplicates, reordering and forged
 *   records change nothing, and a writer that died between MongoDB and Redis is caught up.
 * - When the directory is not built (a new deployment, or a Redis that restarted empty), one replica
 *   takes the build lock and loads a snapshot of MongoDB into it, after its consumer joined: every
 *   change after the snapshot began is then followed, and every change before is in it.
 */
export class DirectoryFollower {
  private stopped = false;
  private built = false;
  private joined = false;
  private consumer: Consumer | undefined;
  private loops: Promise<void>[] = [];
  private readonly sleepers = new Set<() => void>();
  private halt: (() => void) | undefined;
  private markLoaded!: () => void;
  /** Settles when the directory is first seen built. */
  readonly firstLoad = new Promise<void>((resolve) => (this.markLoaded = resolve));

  constructor(
    readonly directory: Directory,
    private readonly users: UsersRepository,
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly groupId: string,
    private readonly log: Logger,
    /** Told, for each user a users.events record names, whether their tokens are now refused. */
    private readonly revoke: Revoke = async () => undefined,
  ) {}

  /** True while the directory is built. */
  get ready(): boolean {
    return this.built;
  }

  start(): void {
    if (this.loops.length === 0) this.loops = [this.follow(), this.watch()];
  }

  /**
   * Stops following. A consumer still joining its group cannot be interrupted (kafkajs finishes
   * the join, seconds on a fresh group, then leaves): shutdown waits for it at most a second.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.sleepers]) wake();
    this.halt?.();
    void this.consumer?.disconnect().catch(() => undefined);
    await Promise.race([Promise.all(this.loops), new Promise((r) => setTimeout(r, 1000).unref())]);
  }

  /** Reads one user from MongoDB and applies it: the entry, or undefined when it does not exist (any more). */
  async refresh(id: number): Promise<DirectoryEntry | undefined> {
    const doc = await this.users.findById(id);
    if (!doc) {
      // A tombstone, or purged after one (ids are never reused): gone for good. An id that never
      // existed is not remembered, so probing random ids costs no memory.
      if ((await this.directory.knows(id)) || (await this.users.exists(id)))
        await this.directory.remove(id);
      return undefined;
    }
    await this.directory.apply(entryOf(doc));
    return this.directory.get(id);
  }

  /** Checks the directory is built, and builds it when nobody else is. */
  private async watch(): Promise<void> {
    while (!this.stopped) {
      try {
        const built = await this.directory.built();
        if (!built && this.built)
          this.log.warn('the directory is gone (Redis restarted empty?): building it again');
        this.built = built || (await this.buildIfFirst());
        if (this.built) this.markLoaded();
      } catch (err) {
        this.built = false;
        this.log.warn({ err }, 'could not check the directory');
      }
      await this.sleep(WATCH_MS);
    }
  }

  /** Builds the directory when this replica gets the lock: true once built. */
  private async buildIfFirst(): Promise<boolean> {
    const { buildLock } = this.directory.keys;
    const token = randomUUID();
    const redis = this.directory.client;
    if ((await redis.set(buildLock, token, 'PX', BUILD_LEASE_MS, 'NX')) !== 'OK') return false;
    const renew = setInterval(
      () => void redis.set(buildLock, token, 'PX', BUILD_LEASE_MS, 'XX').catch(() => undefined),
      BUILD_LEASE_MS / 3,
    );
    try {
      const waitUntil = Date.now() + JOIN_WAIT_MS;
      while (!this.joined && Date.now() < waitUntil && !this.stopped)
        await new Promise((r) => setTimeout(r, 100));
      if (!this.joined)
        this.log.warn(
          'building the directory before the follower joined its group: a change made by a replica that dies mid-write now is caught up only by its next change',
        );
      const started = performance.now();
      const count = await loadSnapshot(this.users, this.directory, () => this.stopped);
      if (count === undefined) return false;
      this.log.info(
        { users: count, ms: Math.round(performance.now() - started) },
        'directory built from a snapshot of MongoDB',
      );
      return true;
    } finally {
      clearInterval(renew);
      await redis.eval(RELEASE, 1, buildLock, token).catch(() => undefined);
    }
  }

  /** Consumes users.events in the shared group, again after each failure, until stopped. */
  private async follow(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      const consumer = (this.consumer = this.kafka.consumer({
        groupId: this.groupId,
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
          consumer.on(consumer.events.GROUP_JOIN, () => {
            this.joined = true;
            attempt = 0;
          });
        });
        const running = (async () => {
          await consumer.connect();
          // A group with no offsets yet (a new deployment, or offsets expired) reads users.events from
          // the start: a change announced before it first joined is then not missed. Most records cost
          // one HMGET (the version they name is already in the directory).
          await consumer.subscribe({ topic: this.topic, fromBeginning: true });
          await consumer.run({
            eachBatch: async ({ batch }) => {
              // Per user, the newest version the batch announces (0: unknown, or a deletion).
              const changes = new Map<number, number>();
              for (const message of batch.messages) {
                const change = changedUser(message.value);
                if (change)
                  changes.set(change.id, Math.max(changes.get(change.id) ?? -1, change.version));
              }
              await Promise.all(
                [...changes].map(async ([id, version]) => {
                  // The writer put it in (the usual case): nothing to read back. A forged version only costs a read.
                  if (version > 0 && (await this.directory.holds(id, version))) return;
                  const entry = await this.refresh(id);
                  if (entry) await this.revoke(id, !entry.user.isActive);
                  else if (await this.directory.knows(id)) await this.revoke(id, true);
                }),
              );
            },
          });
        })();
        running.catch((err: unknown) => {
          this.log.warn(
            { err },
            "directory consumer could not start; the directory still takes every replica's own writes",
          );
          this.halt?.();
        });
        await ended;
      } finally {
        this.consumer = undefined;
        this.joined = false;
        await consumer.disconnect().catch(() => undefined);
      }
      await this.sleep(backoffMs(Math.max(attempt, 1), 500, 30_000));
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

/** Deletes the lock only while this builder still holds it. */
const RELEASE =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** The user a users.events record says changed and the version it names (0 when none), if it is a user change. */
function changedUser(value: Buffer | null): { id: number; version: number } | undefined {
  if (!value) return undefined;
  try {
    const event = JSON.parse(value.toString('utf8')) as {
      type?: unknown;
      data?: { user?: { id?: unknown }; userId?: unknown; version?: unknown };
    };
    if (typeof event.type !== 'string' || !USER_CHANGES.has(event.type)) return undefined;
    const id = event.data?.user?.id ?? event.data?.userId;
    if (!Number.isSafeInteger(id) || (id as number) <= 0) return undefined;
    const version = event.data?.version;
    return {
      id: id as number,
      version: Number.isSafeInteger(version) && (version as number) > 0 ? (version as number) : 0,
    };
  } catch {
    return undefined;
  }
}
