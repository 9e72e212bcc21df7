import { AppError, PaginationLimits, parseUsersCursor, usersCursor } from '@suite/contracts';
import type { Request } from 'express';
import { requestOrigin } from '@suite/server-kit';

/** Absolute URL of this request with `name` set to `value` (removed when undefined). */
function withParam(req: Request, name: string, value: string | undefined): string {
  const url = new URL(`${requestOrigin(req)}${req.originalUrl}`);
  if (value === undefined) url.searchParams.delete(name);
  else url.searchParams.set(name, value);
  return url.toString();
}

/** Absolute URL of this request with `page` replaced (removed for page 1, as DRF does). */
function pageUrl(req: Request, page: number): string {
  return withParam(req, 'page', page === 1 ? undefined : String(page));
}

/** The page-number envelope of Django REST Framework; a page past the end is 404. */
function paginate<T>(req: Request, page: number, pageSize: number, count: number, results: T[]) {
  const pages = Math.max(1, Math.ceil(count / pageSize));
  if (page > pages)
    throw new AppError(
      'not_found',
      `page ${page} does not exist; there ${pages === 1 ? 'is 1 page' : `are ${pages} pages`}`,
    );
  return {
    count,
    next: page < pages ? pageUrl(req, page + 1) : null,
    previous: page > 1 ? pageUrl(req, page - 1) : null,
    results,
  };
}

function pageParams(query: { page?: number | undefined; page_size?: number | undefined }): {
  page: number;
  pageSize: number;
} {
  return { page: query.page ?? 1, pageSize: query.page_size ?? PaginationLimits.defaultPageSize };
}

/** Fetches the page the (already validated) query asks for, in the envelope. */
export async function numberedPage<T>(
  req: Request,
  query: { page?: number | undefined; page_size?: number | undefined },
  fetch: (page: number, pageSize: number) => Promise<{ count: number; results: T[] }>,
) {
  const { page, pageSize } = pageParams(query);
  const { count, results } = await fetch(page, pageSize);
  return paginate(req, page, pageSize, count, results);
}

/** Fetches the keyset page the (already validated) query asks for, in DRF's cursor envelope. */
export async function cursorPage<T extends { id: number }>(
  req: Request,
  query: { cursor: string; page_size?: number | undefined },
  fetch: (
    from: { after: number } | { before: number },
    pageSize: number,
  ) => Promise<{ results: T[]; hasNext: boolean; hasPrevious: boolean }>,
) {
  const { results, hasNext, hasPrevious } = await fetch(
    parseUsersCursor(query.cursor),
    query.page_size ?? PaginationLimits.defaultPageSize,
  );
  const first = results[0];
  const last = results.at(-1);
  return {
    next: hasNext && last ? withParam(req, 'cursor', usersCursor('after', last.id)) : null,
    previous:
      hasPrevious && first ? withParam(req, 'cursor', usersCursor('before', first.id)) : null,
    results,
  };
}
