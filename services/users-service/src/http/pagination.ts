import { AppError, PaginationLimits } from '@suite/contracts';
import type { Request, Response } from 'express';
import { requestOrigin } from '@suite/server-kit';

/** Absolute URL of this request with `page` replaced (removed for page 1, as DRF does). */
function pageUrl(req: Request, page: number): string {
  const url = new URL(`${requestOrigin(req)}${req.originalUrl}`);
  if (page === 1) url.searchParams.delete('page');
  else url.searchParams.set('page', String(page));
  return url.toString();
}

/** The page-number envelope of Django REST Framework; a page past the end is 404. */
function paginate<T>(req: Request, page: number, pageSize: number, count: number, results: T[]) {
  const pages = Math.max(1, Math.ceil(count / pageSize));
  if (page > pages) throw new AppError('not_found', `page ${page} does not exist; there ${pages === 1 ? 'is 1 page' : `are ${pages} pages`}`);
  return {
    count,
    next: page < pages ? pageUrl(req, page + 1) : null,
    previous: page > 1 ? pageUrl(req, page - 1) : null,
    results,
  };
}

function pageParams(query: { page?: number | undefined; page_size?: number | undefined }): { page: number; pageSize: number } {
  return { page: query.page ?? 1, pageSize: query.page_size ?? PaginationLimits.defaultPageSize };
}

/** Fetches the page the (already validated) query asks for and answers with the envelope. */
export async function answerPage<T>(
  req: Request,
  res: Response,
  query: { page?: number | undefined; page_size?: number | undefined },
  fetch: (page: number, pageSize: number) => Promise<{ count: number; results: T[] }>,
): Promise<void> {
  const { page, pageSize } = pageParams(query);
  const { count, results } = await fetch(page, pageSize);
  res.json(paginate(req, page, pageSize, count, results));
}
