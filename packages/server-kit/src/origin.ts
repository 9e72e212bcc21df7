import type { Request } from 'express';
import { AppError } from '@suite/contracts';

/** A host as a link may carry it: DNS labels or a bracketed IPv6 literal, with an optional port. */
const HOST =
  /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?$/i;

/**
 * The origin (`scheme://host[:port]`) for absolute links in answers, from the request as Express
 * reads it (`X-Forwarded-Proto` / `-Host` only from the proxies `TRUST_PROXY` believes). A scheme
 * other than https is http: no header turns a link into `javascript:`. A host that is not a host
 * name is the client's error: 400, never a 500 from building a URL out of it.
 */
export function requestOrigin(req: Request): string {
  const scheme = req.protocol === 'https' ? 'https' : 'http';
  const host = req.host;
  if (!host || !HOST.test(host))
    throw new AppError(
      'bad_request',
      'the request names no valid host (Host, or X-Forwarded-Host from a trusted proxy)',
    );
  return `${scheme}://${host}`;
}
