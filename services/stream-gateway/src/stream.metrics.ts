import { Counter, Gauge, type Registry } from 'prom-client';

/** Gateway metrics: open connections, deliveries, slow-client cut-offs, refused handshakes. */
export function createStreamMetrics(registry: Registry) {
  const r = [registry];
  return {
    connections: new Gauge({
      name: 'stream_connections',
      help: 'Open stream connections',
      labelNames: ['transport'] as const,
      registers: r,
    }),
    deliveries: new Counter({
      name: 'stream_deliveries_total',
      help: 'Live messages delivered to streams (one per stream)',
      registers: r,
    }),
    slowClients: new Counter({
      name: 'stream_slow_clients_closed_total',
      help: 'Streams cut off at the buffered-bytes limit',
      labelNames: ['transport'] as const,
      registers: r,
    }),
    rejected: new Counter({
      name: 'stream_handshakes_rejected_total',
      help: 'Stream requests refused before opening, by HTTP status',
      labelNames: ['status'] as const,
      registers: r,
    }),
  };
}
export type StreamMetrics = ReturnType<typeof createStreamMetrics>;
