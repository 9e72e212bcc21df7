import { join } from 'node:path';
import { rmSync } from 'node:fs';
import {
  ensureKafka,
  ensureMongo,
  ensureRedis,
  freePort,
  isAlive,
  readPid,
  stateDir,
  stopDaemon,
  stopPostgres,
} from '@suite/local-infra';

/** A private server a test may stop and start again (on the same port and data). */
export interface DisposableServer {
  url: string;
  stop(): Promise<void>;
  /** Kills the server with SIGKILL: no shutdown, no save. */
  crash(): Promise<void>;
  start(): Promise<void>;
  /** Where the server keeps its files (a Redis `SAVE` writes `dump.rdb` here; a start loads it). */
  dir: string;
  destroy(): Promise<void>;
}

type Kind = 'redis' | 'kafka' | 'mongo';

/** Starts a private Redis, Kafka or MongoDB-wire server for outage tests. */
export async function startDisposable(kind: Kind): Promise<DisposableServer> {
  const port = await freePort();
  const name = `${kind}-disposable-${port}`;
  // Kafka's controller, and FerretDB's PostgreSQL, need a port of their own (an ephemeral port
  // plus anything may be taken, or past 65535).
  let secondPort = port;
  while (kind !== 'redis' && secondPort === port) secondPort = await freePort();
  const ensure = {
    redis: ensureRedis,
    kafka: (p: number, n: string) => ensureKafka(p, n, secondPort),
    mongo: (p: number, n: string) => ensureMongo(p, n, secondPort),
  }[kind];
  const first = await ensure(port, name);
  return {
    url: first.url,
    dir: join(stateDir, name),
    stop: async () => {
      await stopDaemon(name);
    },
    crash: async () => {
      const pid = readPid(name);
      if (pid === undefined) return;
      process.kill(pid, 'SIGKILL');
      // A zombie still answers signal 0 until it is reaped: give up waiting after a few seconds.
      for (let waited = 0; isAlive(pid) && waited < 5000; waited += 20)
        await new Promise((r) => setTimeout(r, 20));
    },
    start: async () => {
      await ensure(port, name);
    },
    destroy: async () => {
      await stopDaemon(name);
      if (kind === 'mongo') await stopPostgres(`${name}-postgres`, true);
      rmSync(join(stateDir, name), { recursive: true, force: true });
    },
  };
}
