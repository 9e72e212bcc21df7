import {
  AppError,
  decodeFeedCursor,
  encodeFeedCursor,
  feedKeyText,
  parseFeedKey,
  type Activity,
  type ActiveWorkspace,
  type FeedKey,
} from '@suite/contracts';
import type { FeedEntry, ProjectionReader } from '@suite/projection-reader';

const SCAN_STEP = 200;
const COMMA = Buffer.from(',');

/** JSON texts joined by commas (the inside of a JSON array). */
function joinJson(items: Buffer[]): Buffer {
  return Buffer.concat(items.flatMap((item, i) => (i === 0 ? [item] : [COMMA, item])));
}

/** The feed key a page cursor names; undefined when it names none; throws when it is not a cursor. */
function feedKeyOf(cursor: string): FeedKey | undefined {
  const text = decodeFeedCursor(cursor);
  if (text === undefined)
    throw new AppError('validation_failed', 'invalid query', [
      { path: 'query.cursor', message: 'not a cursor this API issued' },
    ]);
  return parseFeedKey(text);
}

/** Read use cases over the projections. */
export function activityReads(feed: ProjectionReader) {
  return {
    /**
     * Newest first; `cursor` continues after the last item of the previous page. Results are the
     * stored activities (each an `Activity` as UTF-8 JSON, as the projection wrote it): a page is
     * answered without parsing and re-serialising them.
     */
    async page(
      userId: number,
      limit: number,
      cursor: string | undefined,
      workspaceId: number | undefined,
    ): Promise<{ results: Buffer; nextCursor: string | null }> {
      let before: FeedKey | undefined;
      if (cursor !== undefined) {
        before = feedKeyOf(cursor);
        // Base64url that names no feed key is accepted (FEED_CURSOR) and starts nowhere: an empty page.
        if (!before) return { results: Buffer.alloc(0), nextCursor: null };
      }
      const results: FeedEntry[] = [];
      // The feed is capped, so even a filtered scan is bounded by the feed length.
      for (;;) {
        const want = workspaceId === undefined ? limit + 1 - results.length : SCAN_STEP;
        const entries = await feed.feedOlder(userId, before, want);
        for (const e of entries) {
          if (
            workspaceId === undefined ||
            (JSON.parse(e.json.toString()) as Activity).workspaceId === workspaceId
          )
            results.push(e);
        }
        if (results.length > limit || entries.length < want) break;
        before = entries.at(-1)!.key;
      }
      const page = results.slice(0, limit);
      return {
        results: joinJson(page.map((r) => r.json)),
        nextCursor: results.length > limit ? encodeFeedCursor(feedKeyText(page.at(-1)!.key)) : null,
      };
    },

    count: (userId: number) => feed.count(userId),

    /** Workspaces active within `days` that the user can still reach, most recent first. */
    async activeWorkspaces(
      userId: number,
      days: number,
      now = Date.now(),
    ): Promise<ActiveWorkspace[]> {
      const since = now - days * 86_400_000;
      const { last, counts, access } = await feed.recency(userId);
      const out: ActiveWorkspace[] = [];
      for (const [ws, at] of Object.entries(last)) {
        const grant = access[ws];
        if (!grant || Number(at) < since) continue;
        const { name, role } = JSON.parse(grant) as { name: string; role: ActiveWorkspace['role'] };
        out.push({
          workspace: { id: Number(ws), name },
          role,
          lastActiveAt: new Date(Number(at)).toISOString(),
          activityCount: Number(counts[ws] ?? 0),
        });
      }
      return out.sort(
        (a, b) => b.lastActiveAt.localeCompare(a.lastActiveAt) || a.workspace.id - b.workspace.id,
      );
    },
  };
}
export type ActivityReads = ReturnType<typeof activityReads>;
