/**
 * The one retry backoff: the delay before retry `attempt` (1, 2, 3…), doubling from `baseMs` and
 * capped at `maxMs`. With `jitter`, a random point below that (full jitter), so many clients
 * retrying at once spread out instead of arriving together.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, jitter = false): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return jitter ? Math.random() * ceiling : ceiling;
}
