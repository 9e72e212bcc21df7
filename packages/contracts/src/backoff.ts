/**
 * The one retry backoff: the delay before retry `attempt` (1, 2, 3…), doubling from `baseMs` and
 * capped at `maxMs`. With `jitter`, a random point below that (full jitter), so many clients
 * retrying at once spread out instead of arriving together.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, jitter = false): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return jitter ? Math.random() * ceiling : ceiling;
}

/**
 * The one poll: calls `check` every `everyMs` until it returns a value (not undefined), and
 * rejects after `timeoutMs` with `what` and the last error `check` threw. Servers coming up,
 * tests waiting on a condition: everything that waits for something to become true uses this.
 */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() + everyMs > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(
    `${what} within ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`,
  );
}
