import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, ensureDir } from './paths.js';
import { requireTool, run } from './process.js';

export const HELM_VERSION = 'v3.22.0';
/** Prometheus's Go module version whose `promtool` unit-tests the chart's alerting rules (Prometheus 3.x). */
export const PROMETHEUS_MODULE_VERSION = 'v0.316.0';

/**
 * A Go command-line tool: `$<override>` when set, else one built before into the cache, else
 * `go install` of `<module>/<path>@<version>` into the cache (minutes, once per machine).
 */
async function goTool(
  name: string,
  override: string,
  module: string,
  version: string,
): Promise<string> {
  const given = process.env[override];
  if (given) return given;
  const bin = join(cacheDir, `${name}-${version}`);
  const binary = join(bin, name);
  if (existsSync(binary)) return binary;
  requireTool('go', `Install Go 1.22+ to build ${name}, or set ${override} to a ${name} binary`);
  await run('go', ['install', `${module}@${version}`], {
    env: { ...process.env, GOBIN: ensureDir(bin) },
  });
  return binary;
}

/** A helm 3 binary for rendering the chart (`$SUITE_HELM`, or built from helm's v3 module, about three minutes). */
export function ensureHelm(): Promise<string> {
  return goTool('helm', 'SUITE_HELM', 'helm.sh/helm/v3/cmd/helm', HELM_VERSION);
}

/** promtool, for the chart's alert tests (`$SUITE_PROMTOOL`, or built from Prometheus's module, about four minutes). */
export function ensurePromtool(): Promise<string> {
  return goTool(
    'promtool',
    'SUITE_PROMTOOL',
    'github.com/prometheus/prometheus/cmd/promtool',
    PROMETHEUS_MODULE_VERSION,
  );
}
