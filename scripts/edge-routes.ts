import { serviceFor, type ApiService } from '@suite/contracts';

/** Which service answers a public path: the contracts' route table decides; the local edge and compose's nginx follow it. */
export type Upstream = ApiService;

export function upstreamFor(url: string): Upstream {
  const path = url.split('?')[0] ?? '/';
  if (/^\/demo(\/|$)/.test(path)) return 'gateway';
  // Unknown paths go to the users-service, which answers 404 (or 405) in the error shape.
  return serviceFor(path) ?? 'users';
}
