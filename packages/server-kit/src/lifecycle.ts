import type { Logger } from '@suite/logger';

export interface Stoppable {
  stop(): Promise<void>;
}

/** Wires SIGTERM/SIGINT to a graceful stop that must finish within `graceMs`. */
export function handleSignals(service: Stoppable, logger: Logger, graceMs: number): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const killer = setTimeout(() => {
      logger.error({ graceMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, graceMs);
    killer.unref();
    service
      .stop()
      .then(() => {
        logger.info('stopped cleanly');
        logger.flush?.();
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
