import type { IncomingMessage } from 'node:http';
import {
  ApiRoutes,
  AppError,
  EMPTY_STREAM_CURSOR,
  IdParam,
  decodeStreamCursor,
  parseStreamPosition,
  pathParams,
  splitChannelsCursor,
  type StreamChannel,
  type StreamPosition,
} from '@suite/contracts';
import { assertSelfOrAdmin, bearerToken, type Principal, type TokenVerifier } from '@suite/auth';
import { parseInput, takeOrRefuse, type RateLimits } from '@suite/server-kit';
import type { Hub } from '../domain/hub.js';

export interface HandshakeOptions {
  allowedOrigins: string[];
  maxConnectionsPerUser: number;
  /** Each principal's budget of stream handshakes, shared by the replicas; none: not limited. */
  rateLimits?: RateLimits | undefined;
}

/** How long a client refused for the per-user cap is told to wait: a seat frees when one of its streams closes. */
export const STREAM_CAP_RETRY_AFTER_S = 10;

export interface Authorised {
  principal: Principal;
  userId: number;
  /** Where the client resumes from; `empty` before the user's first activity; `stale` for a cursor from an earlier layout (it gets a reset). */
  cursor: StreamPosition | 'empty' | 'stale' | undefined;
  /** The channels asked for (`channels=`; default the activity channel alone). */
  channels: Set<StreamChannel>;
  /** Where the inbox channel resumes from (the cursor's part after `~`); none: from now. */
  inboxCursor: StreamPosition | 'empty' | undefined;
  /** Gives the stream's seat back; call it when the connection closes (or the handshake fails after all). Idempotent. */
  release: () => void;
}

/** How long until the stream's token expires, as a timer can wait for it (at most ~24.8 days). */
export function msUntilExpiry(principal: Principal): number {
  return Math.min(Math.max(principal.expiresAt * 1000 - Date.now(), 0), 2 ** 31 - 1);
}

/** The token from the header, the `access_token` query parameter, or a `bearer.<token>` subprotocol. */
function findToken(req: IncomingMessage, url: URL): string | undefined {
  const header = bearerToken(req.headers.authorization);
  if (header) return header;
  const query = url.searchParams.get('access_token');
  if (query) return query;
  const protocols = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  return protocols.find((p) => p.startsWith('bearer.'))?.slice('bearer.'.length) || undefined;
}

/** Same-origin pages (like /demo) are always allowed; other origins only when listed (or `*`). */
function originAllowed(origin: string, host: string | undefined, allowed: string[]): boolean {
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** The query as the API description states it (a repeated parameter counts as unknown). */
function parseQuery(url: URL): void {
  const keys = [...url.searchParams.keys()];
  const repeated = keys.find((key, i) => keys.indexOf(key) !== i);
  if (repeated)
    throw new AppError('validation_failed', 'invalid query', [
      { path: `query.${repeated}`, message: 'given more than once' },
    ]);
  parseInput(ApiRoutes.activityStream.query, Object.fromEntries(url.searchParams), 'query');
}

/**
 * Where each channel resumes from the cursor (the query's, else the Last-Event-ID header's): the
 * activity part, and the inbox part after `~`. Only the header can still be malformed here: the
 * query's cursor was parsed with the query.
 */
function resumeFrom(text: string | undefined): Pick<Authorised, 'cursor' | 'inboxCursor'> {
  if (text === undefined) return { cursor: undefined, inboxCursor: undefined };
  const parts = splitChannelsCursor(text);
  const cursor = parts === undefined ? undefined : decodeStreamCursor(parts.activity);
  const inboxCursor =
    parts?.inbox === undefined
      ? undefined
      : parts.inbox === EMPTY_STREAM_CURSOR
        ? 'empty'
        : parseStreamPosition(parts.inbox);
  if (
    cursor === undefined ||
    (parts?.inbox !== undefined && (inboxCursor === undefined || cursor === 'stale'))
  ) {
    throw new AppError('validation_failed', 'invalid header', [
      { path: 'header.last-event-id', message: 'not a cursor this API issued' },
    ]);
  }
  return { cursor, inboxCursor };
}

/**
 * Everything that must pass before a stream opens: path, origin, token, ownership, cursor, the
 * principal's handshake budget, and a seat under the per-user cap (taken last, with no await
 * after it, so parallel handshakes cannot pass the cap).
 */
export async function authoriseStream(
  req: IncomingMessage & { originalUrl?: string },
  verifier: TokenVerifier,
  hub: Hub,
  options: HandshakeOptions,
  lastEventId?: string,
): Promise<Authorised> {
  // Inside an Express router `url` is relative to the mount point; `originalUrl` is the full path.
  const url = new URL(req.originalUrl ?? req.url ?? '/', 'http://gateway');
  const params = pathParams(ApiRoutes.activityStream, url.pathname);
  if (!params) throw new AppError('not_found', 'no such route');
  const origin = req.headers.origin;
  if (origin && !originAllowed(origin, req.headers.host, options.allowedOrigins)) {
    throw new AppError('forbidden', 'origin not allowed');
  }
  parseQuery(url);
  const token = findToken(req, url);
  if (!token) throw new AppError('unauthorized', 'a bearer token is required');
  const principal = await verifier.verify(token);
  const parsedId = IdParam.safeParse(params.id);
  if (!parsedId.success)
    throw new AppError('validation_failed', 'invalid path', [
      { path: 'path.id', message: 'must be a positive integer' },
    ]);
  assertSelfOrAdmin(principal, parsedId.data);
  const { cursor, inboxCursor } = resumeFrom(url.searchParams.get('cursor') ?? lastEventId);
  const channels = new Set(
    (url.searchParams.get('channels') ?? 'activity').split(',') as StreamChannel[],
  );
  await takeOrRefuse(options.rateLimits, 'stream', principal.sub);
  const release = hub.claimSeat(parsedId.data, options.maxConnectionsPerUser);
  if (!release) {
    throw new AppError(
      'rate_limited',
      `at most ${options.maxConnectionsPerUser} streams per user are open; close one or retry later`,
      undefined,
      { 'retry-after': String(STREAM_CAP_RETRY_AFTER_S) },
    );
  }
  return { principal, userId: parsedId.data, cursor, channels, inboxCursor, release };
}
