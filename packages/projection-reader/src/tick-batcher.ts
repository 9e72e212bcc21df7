import type { ChainableCommander } from 'ioredis';
import { isCluster, type RedisClient } from '@suite/redis';

/** Adds one command to a pipeline, or (given the client itself) sends it alone and returns its reply. */
export type Command = (target: ChainableCommander | RedisClient) => unknown;

type Queued = { add: Command; resolve: (value: unknown) => void; reject: (err: unknown) => void };

/**
 * Sends the reads issued during one turn of the event loop as one pipeline, flushed once the turn's
 * I/O callbacks have run (setImmediate). Concurrent requests then share one write to Redis and one
 * read of the replies instead of a system call pair each: measured, that is most of what a read
 * costs the process beyond the request itself (bench/activity-reads.bench.ts). A read waits at
 * most until the end of the current turn.
 */
export class TickBatcher {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(private readonly redis: RedisClient) {}

  /** Queues one command; resolves with its reply. */
  run<T>(add: Command): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ add, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    // Alone in its turn: a plain command, without a pipeline's bookkeeping. On a cluster a pipeline
    // may hold one slot's keys only: there each read goes alone, and the client's auto-pipelining
    // (createRedis with autoPipelining) groups them per node instead.
    if (batch.length === 1 || isCluster(this.redis)) {
      for (const only of batch)
        (only.add(this.redis) as Promise<unknown>).then(only.resolve, only.reject);
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const queued of batch) queued.add(pipeline);
    pipeline.exec().then(
      (replies) =>
        replies!.forEach(([err, value], i) =>
          err ? batch[i]!.reject(err) : batch[i]!.resolve(value),
        ),
      (err: unknown) => batch.forEach((queued) => queued.reject(err)),
    );
  }
}
