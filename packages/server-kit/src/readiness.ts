import type { ReadinessBody } from '@suite/contracts';
import type { Logger } from '@suite/logger';

/** A dependency probe: resolves when the dependency answered a real protocol round trip. */
export type ReadinessCheck = () => Promise<void>;

/**
 * A reason a check fails that is the service's own statement ("the projections are being
 * rebuilt"), safe to show in the readiness body. Any other error is a dependency's own text
 * (addresses, driver internals): the body says only `unreachable`, the log has the text.
 */
export class NotReady extends Error {}

export interface ReadinessOptions {
  timeoutMs?: number;
  /** Where a failing dependency's own error text goes (once per change of that text). */
  logger?: Logger;
}

export class Readiness {
  private draining = false;
  private readonly timeoutMs: number;
  /** The last error text logged per check, so a probe every few seconds logs an outage once. */
  private readonly lastLogged = new Map<string, string>();

  constructor(
    private readonly checks: Record<string, ReadinessCheck>,
    private readonly options: ReadinessOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  /** Fails readiness from now on; called first on SIGTERM. */
  drain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** The names of the checks, for callers that ask for some of them. */
  get names(): string[] {
    return Object.keys(this.checks);
  }

  /** Runs every check, or only the `only` ones (a probe scoped to what some routes need). */
  async evaluate(only?: readonly string[]): Promise<ReadinessBody> {
    const chosen = Object.entries(this.checks).filter(([name]) => !only || only.includes(name));
    const entries = await Promise.all(
      chosen.map(async ([name, check]) => [name, await this.probe(name, check)] as const),
    );
    const checks = Object.fromEntries(entries);
    const ok = entries.every(([, c]) => c.ok);
    return { status: this.draining ? 'draining' : ok ? 'ready' : 'not_ready', checks };
  }

  private async probe(
    name: string,
    check: ReadinessCheck,
  ): Promise<ReadinessBody['checks'][string]> {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    try {
      const outcome = await Promise.race([check().then(() => 'ok' as const), timedOut]);
      if (outcome === 'timeout')
        return this.failed(name, latency(), `did not answer within ${this.timeoutMs} ms`);
      this.lastLogged.delete(name);
      return { ok: true, latencyMs: latency() };
    } catch (err) {
      if (err instanceof NotReady) return this.failed(name, latency(), err.message);
      const text = err instanceof Error ? err.message : String(err);
      if (this.lastLogged.get(name) !== text) {
        this.lastLogged.set(name, text);
        this.options.logger?.warn({ err, check: name }, 'readiness check failed');
      }
      return { ok: false, latencyMs: latency(), error: 'unreachable' };
    } finally {
      clearTimeout(timer);
    }
  }

  private failed(name: string, latencyMs: number, error: string): ReadinessBody['checks'][string] {
    this.lastLogged.delete(name);
    return { ok: false, latencyMs, error };
  }
}
