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
  // Kafka's controller needs a port of its own (the one after an ephemeral port may be taken).
  let controllerPort = port;
  while (kind === 'kafka' && controllerPort === port) controllerPort = await freePort();
  const ensure = { redis: ensureRedis, kafka: (p: number, n: string) => ensureKafka(p, n, controllerPort), mongo: ensureMongo }[kind];
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
      for (let waited = 0; isAlive(pid) && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    },
    start: async () => {
      await ensure(port, name);
    },
    destroy: async () => {
      await stopDaemon(name);
      rmSync(join(stateDir, name), { recursive: true, force: true });
    },
  };
}
