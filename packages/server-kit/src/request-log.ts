import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createRequestLineLogger, redactUrl, type Logger } from '@suite/logger';

declare module 'express-serve-static-core' {
  interface Request {
    /** This request's id: the caller's `X-Request-Id` when well-formed, else a fresh one; answered in `X-Request-Id`. */
    id: string;
    /** The service's logger (lines logged while a request runs carry its id through AsyncLocalStorage). */
    log: Logger;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Probes and scrapes (with or without a query: `/readyz?check=redis`) are not requests worth a line. */
const UNLOGGED = /^\/(healthz|readyz|metrics)(\?|$)/;

/**
 * Request ids and one log line per request, with what an operator reads: method, path (secrets
 * redacted), status, time, request id, client address, and no headers. Written once, when the
 * answer is finished or the client went away, at `warn` for 4xx and `error` for 5xx. (pino-http did
 * this with a child logger and serialisers per request: about 45 µs of CPU each, measured in
 * `npm run bench:reads`.)
 */
export function requestLog(logger: Logger, log = true): RequestHandler {
  const lines = createRequestLineLogger(logger);
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    req.log = logger;
    res.setHeader('x-request-id', id);
    if (!log || UNLOGGED.test(req.url)) return next();
    const started = performance.now();
    const write = (aborted: boolean) => {
      const ms = Math.round(performance.now() - started);
      const status = res.statusCode;
      const url = redactUrl(req.originalUrl);
      const line = {
        requestId: id,
        req: { method: req.method, url, remoteAddress: req.socket.remoteAddress },
        res: { statusCode: status },
        responseTime: ms,
      };
      const text = `${req.method} ${url} ${status} ${ms} ms${aborted ? ' (aborted)' : ''}`;
      if (status >= 500) lines.error(line, text);
      else if (status >= 400) lines.warn(line, text);
      else lines.info(line, text);
    };
    // A response always ends in 'close' (after 'finish' when it was answered in full).
    res.once('close', () => write(!res.writableFinished));
    next();
  };
}
