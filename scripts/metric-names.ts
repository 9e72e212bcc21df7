import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory())
      return name === 'node_modules' || name === 'dist' ? [] : sources(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every metric the services define (prom-client Counter/Gauge/Histogram/Summary), read from their sources. */
export function definedMetrics(): Set<string> {
  return new Set(
    [...sources(resolve(root, 'packages')), ...sources(resolve(root, 'services'))].flatMap((file) =>
      [
        ...readFileSync(file, 'utf8').matchAll(
          /new (?:Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name: '([a-z_:]+)'/g,
        ),
      ].map((m) => m[1]!),
    ),
  );
}

/** prom-client's default process and Node.js metrics that dashboards and alerts may use. */
export const defaultMetrics = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_p99_seconds',
];

/** Metric names a PromQL expression selects (`name{...}`), with histogram suffixes removed. */
export function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b([a-z_:]+?)(?:_bucket|_count|_sum)?\{/g)].map((m) => m[1]!);
}
