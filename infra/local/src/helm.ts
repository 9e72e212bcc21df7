import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, ensureDir } from './paths.js';
import { requireTool, run } from './process.js';

export const HELM_VERSION = 'v3.22.0';

/**
 * A helm binary for rendering the chart: `$SUITE_HELM`, else one built before into the cache,
 * else `go install` of helm's v3 module into the cache (about three minutes, once per machine).
 */
export async function ensureHelm(): Promise<string> {
  if (process.env.SUITE_HELM) return process.env.SUITE_HELM;
  const bin = join(cacheDir, `helm-${HELM_VERSION}`);
  const binary = join(bin, 'helm');
  if (existsSync(binary)) return binary;
  requireTool('go', 'Install Go 1.22+ to build helm, or set SUITE_HELM to a helm 3 binary');
  await run('go', ['install', `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], { env: { ...process.env, GOBIN: ensureDir(bin) } });
  return binary;
}

/** Prometheus's Go module version whose `promtool` unit-tests the chart's alerting rules (Prometheus 3.x). */
export const PROMETHEUS_MODULE_VERSION = 'v0.316.0';

/** A promtool binary: `$SUITE_PROMTOOL`, else one built before into the cache, else `go install` into the cache (once per machine). */
export async function ensurePromtool(): Promise<string> {
  if (process.env.SUITE_PROMTOOL) return process.env.SUITE_PROMTOOL;
  const bin = join(cacheDir, `promtool-${PROMETHEUS_MODULE_VERSION}`);
  const binary = join(bin, 'promtool');
  if (existsSync(binary)) return binary;
  requireTool('go', 'Install Go 1.22+ to build promtool, or set SUITE_PROMTOOL to a promtool binary');
  await run('go', ['install', `github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_MODULE_VERSION}`], { env: { ...process.env, GOBIN: ensureDir(bin) } });
  return binary;
}
