import { join } from 'node:path';
import { rmSync } from 'node:fs';
import {
  ensureKafka,
  ensureMongo,
  ensureRedis,
  freePort,
  stateDir,
  stopDaemon,
} from '@suite/local-infra';

/** A private server a test may stop and start again (on the same port and data). */
export interface DisposableServer {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
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
    stop: async () => {
      await stopDaemon(name);
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
