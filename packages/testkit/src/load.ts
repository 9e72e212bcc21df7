import { Agent, request } from 'node:http';

export interface LoadRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One request's outcome; `sentBeforeSignal` tells requests in flight at the signal from later ones. */
export interface LoadOutcome {
  sentBeforeSignal: boolean;
  status?: number;
  /** Error code when no response came (ECONNREFUSED, ECONNRESET, ...). */
  error?: string;
  /** The request went out on a kept-alive socket (Node's documented retry case for ECONNRESET). */
  reusedSocket?: boolean;
  /** The response said `Connection: close`: the server told this kept-alive client to leave. */
  toldToLeave?: boolean;
}

/**
 * Keep-alive request loops against one server, for shutdown tests: `signal()` marks the moment a
 * signal is sent, `stop()` ends the loops and returns every outcome. Loops stop by themselves once
 * the server refuses connections.
 */
export function httpLoad(baseUrl: string, workers: number, next: (n: number) => LoadRequest) {
  const agent = new Agent({ keepAlive: true, maxSockets: workers });
  const outcomes: LoadOutcome[] = [];
  let signalled = false;
  let running = true;
  let n = 0;
  const once = (req: LoadRequest) =>
    new Promise<LoadOutcome>((resolve) => {
      const sentBeforeSignal = !signalled;
      const r = request(
        `${baseUrl}${req.path}`,
        {
          method: req.method,
          agent,
          headers: { ...req.headers, ...(req.body ? { 'content-type': 'application/json' } : {}) },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({
              sentBeforeSignal,
              status: res.statusCode!,
              toldToLeave: res.headers.connection === 'close',
            }),
          );
          res.on('error', (err: NodeJS.ErrnoException) =>
            resolve({ sentBeforeSignal, error: err.code ?? err.message }),
          );
        },
      );
      r.on('error', (err: NodeJS.ErrnoException) =>
        resolve({ sentBeforeSignal, error: err.code ?? err.message, reusedSocket: r.reusedSocket }),
      );
      r.end(req.body);
    });
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const outcome = await once(next(n++));
      outcomes.push(outcome);
      if (outcome.error === 'ECONNREFUSED') return;
    }
  });
  return {
    count: () => outcomes.length,
    signal: () => {
      signalled = true;
    },
    async stop(): Promise<LoadOutcome[]> {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return outcomes;
    },
  };
}

/**
 * What a graceful shutdown must never produce: a 5xx, a request in flight at the signal that got
 * no response, or an error on a later request other than a refused connection or the keep-alive
 * race (a reset on a reused socket before any response, which HTTP clients retry).
 */
export function shutdownViolations(outcomes: LoadOutcome[]): LoadOutcome[] {
  return outcomes.filter((o) => {
    if (o.status !== undefined) return o.status >= 500;
    if (o.sentBeforeSignal) return true;
    return !(o.error === 'ECONNREFUSED' || (o.error === 'ECONNRESET' && o.reusedSocket));
  });
}
