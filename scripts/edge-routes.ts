import { API_PREFIX, serviceFor, type ApiService } from '@suite/contracts';

/** Which service answers a public path: the contracts' route table decides; the local edge and compose's nginx follow it. */
export type Upstream = ApiService;

/**
 * The service a public path goes to, or undefined for a path the edge does not expose: only the
 * API and the demo page are public. Each service's /healthz, /readyz and /metrics are for the
 * platform (probes, Prometheus) on the service's own port, never through the one origin.
 */
export function upstreamFor(url: string): Upstream | undefined {
  const path = url.split('?')[0] ?? '/';
  if (/^\/demo(\/|$)/.test(path)) return 'gateway';
  if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) return undefined;
  // Unknown API paths go to the users-service, which answers 404 (or 405) in the error shape.
  return serviceFor(path) ?? 'users';
}
