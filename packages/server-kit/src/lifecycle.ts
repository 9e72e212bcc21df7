import type { Logger } from '@suite/logger';

export interface Stoppable {
  stop(): Promise<void>;
}

/** Time after the HTTP drain for closing clients, leaving the consumer group, flushing logs. */
export const CLEANUP_MS = 5_000;

/**
 * Wires SIGTERM/SIGINT to a graceful stop: `graceMs` to drain requests, then CLEANUP_MS to close
 * clients; past both the process exits 1. The Helm chart's terminationGracePeriodSeconds covers
 * both plus the preStop pause.
 */
export function handleSignals(service: Stoppable, logger: Logger, graceMs: number): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const killer = setTimeout(() => {
      logger.error({ graceMs, cleanupMs: CLEANUP_MS }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, graceMs + CLEANUP_MS);
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
