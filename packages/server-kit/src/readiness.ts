import type { ReadinessBody } from '@suite/contracts';

/** A dependency probe: resolves when the dependency answered a real protocol round trip. */
export type ReadinessCheck = () => Promise<void>;

export class Readiness {
  private draining = false;
  constructor(
    private readonly checks: Record<string, ReadinessCheck>,
    private readonly timeoutMs = 2000,
  ) {}

  /** Fails readiness from now on; called first on SIGTERM. */
  drain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async evaluate(): Promise<ReadinessBody> {
    const entries = await Promise.all(
      Object.entries(this.checks).map(async ([name, check]) => {
        const started = performance.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
            }),
          ]);
          return [name, { ok: true, latencyMs: Math.round(performance.now() - started) }] as const;
        } catch (err) {
          return [
            name,
            { ok: false, latencyMs: Math.round(performance.now() - started), error: (err as Error).message },
          ] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const ok = entries.every(([, c]) => c.ok);
    return { status: this.draining ? 'draining' : ok ? 'ready' : 'not_ready', checks };
  }
}
