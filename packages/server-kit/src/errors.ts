import { AppError } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import type { NextFunction, Request, Response } from 'express';

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

/** Maps body-parser and similar framework errors onto AppError. */
function normalise(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const e = err as HttpLikeError;
  const status = e?.status ?? e?.statusCode;
  if (e?.type === 'entity.too.large' || status === 413)
    return new AppError('payload_too_large', 'request body is too large');
  if (e?.type === 'entity.parse.failed')
    return new AppError('bad_request', 'request body is not valid JSON');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return new AppError('unsupported_media_type', 'unsupported body encoding');
  }
  // A path parameter that is not valid percent-encoding (`%E0`): Express throws a URIError.
  if (err instanceof URIError)
    return new AppError(
      'bad_request',
      'malformed request: the path or a parameter is not valid percent-encoding',
    );
  if (status === 400 && e?.expose) return new AppError('bad_request', 'malformed request');
  if (status === 431) return new AppError('bad_request', 'request headers are too large');
  return undefined;
}

/** The one HTTP error middleware: the DESIGN.md error shape, no stack traces. */
export function errorMiddleware(logger: Logger, mapError?: (err: unknown) => AppError | undefined) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known = normalise(err) ?? mapError?.(err);
    const requestId = String(req.id ?? '');
    if (!known) logger.error({ err, requestId }, 'unhandled error');
    else if (known.code === 'unavailable')
      logger.warn({ err, requestId }, 'dependency unavailable');
    const appError = known ?? new AppError('internal', 'internal server error');
    if (res.headersSent) return res.end();
    if (appError.headers) res.set(appError.headers);
    res.status(appError.status).json(appError.body(requestId));
  };
}

/** 404 in the error shape for anything no route matched. */
export function notFoundMiddleware(_req: Request, _res: Response, next: NextFunction) {
  next(new AppError('not_found', 'no such route'));
}
