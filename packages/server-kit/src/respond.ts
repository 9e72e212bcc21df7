import type { Response } from 'express';

/**
 * Answers 200 with a JSON body (a string or UTF-8 bytes already serialised), without the ETag and
 * freshness work of Express's `res.send`: for hot reads whose body changes with every write, that
 * work costs more than the read itself (measured: bench/activity-reads.bench.ts).
 */
export function sendJson(res: Response, body: string | Buffer): void {
  res.type('json').end(body);
}
