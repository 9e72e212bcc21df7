import { Router, type Response } from 'express';
import { ApiRoutes, AppError, StreamCloseCodes } from '@suite/contracts';
import type { TokenVerifier } from '@suite/auth';
import { routeStream } from '@suite/server-kit';
import { authoriseStream, msUntilExpiry, type HandshakeOptions } from './handshake.js';
import type { Hub } from '../domain/hub.js';
import type { ProjectionReader } from '@suite/projection-reader';
import { StreamSession, channelOptions, type Transport } from '../domain/stream-session.js';
import type { StreamMetrics } from '../stream.metrics.js';

export interface SseOptions extends HandshakeOptions {
  highWaterMark: number;
  heartbeatMs: number;
}

/** The SSE response head, and the client's reconnect delay. */
function openEventStream(res: Response): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  res.write('retry: 2000\n\n');
}

/** A session's transport over an SSE response: a slow consumer is cut, any other close says why first. */
function sseTransport(res: Response, end: () => void): Transport {
  return {
    send: (message) => {
      res.write(message.sseEvent());
    },
    bufferedBytes: () => res.writableLength,
    close: (code, reason) => {
      if (code === StreamCloseCodes.slowConsumer) res.destroy();
      else {
        const error = { type: 'error', code: String(code), message: reason };
        res.end(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
      }
      end();
    },
  };
}

/** The stream as Server-Sent Events on the same path, chosen by `Accept: text/event-stream`. */
export function sseRouter(
  verifier: TokenVerifier,
  hub: Hub,
  reader: ProjectionReader,
  options: SseOptions,
  metrics: StreamMetrics,
): Router {
  const router = Router();
  routeStream(router, ApiRoutes.activityStream, async (req, res) => {
    if (!String(req.headers.accept ?? '').includes('text/event-stream')) {
      // Still authenticate first: an anonymous caller learns nothing but 401.
      (await authoriseStream(req, verifier, hub, options)).release();
      throw new AppError(
        'bad_request',
        'open this stream as a WebSocket (Upgrade: websocket) or with Accept: text/event-stream',
      );
    }
    const lastEventId = req.get('last-event-id') || undefined;
    const auth = await authoriseStream(req, verifier, hub, options, lastEventId).catch(
      (err: unknown) => {
        if (err instanceof AppError) metrics.rejected.inc({ status: String(err.status) });
        throw err;
      },
    );
    if (res.destroyed) return auth.release();
    res.once('close', auth.release);
    openEventStream(res);
    metrics.connections.inc({ transport: 'sse' });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      clearTimeout(expiry);
      metrics.connections.dec({ transport: 'sse' });
    };
    const session = new StreamSession(auth.userId, sseTransport(res, end), hub, reader, {
      holder: auth.principal.userId,
      highWaterMark: options.highWaterMark,
      onSlowClient: () => metrics.slowClients.inc({ transport: 'sse' }),
      ...channelOptions(auth),
    });
    const heartbeat = setInterval(() => res.write(': ping\n\n'), options.heartbeatMs);
    const expiry = setTimeout(
      () => session.close(StreamCloseCodes.tokenExpired, 'token expired'),
      msUntilExpiry(auth.principal),
    );
    req.on('close', () => {
      session.detach();
      end();
    });
    await session.open(auth.cursor);
  });
  return router;
}
