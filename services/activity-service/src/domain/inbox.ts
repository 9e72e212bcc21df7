import {
  AppError,
  EMPTY_STREAM_CURSOR,
  InboxLimits,
  inboxCursor,
  notificationJson,
  parseStreamPosition,
  splitInboxEntry,
  type InboxCounts,
  type MarkAction,
  type MarkBody,
  type MarkResult,
  type NotificationCounts,
} from '@suite/contracts';
import type {
  InboxHead,
  InboxStore,
  PageFilter,
  StoredNotification,
} from '../data-access/inbox.store.js';

/** How often a mark looks whether it has been applied while it waits. */
const APPLIED_POLL_MS = 10;

/**
 * A position from an inbox cursor of this inbox's epoch: `.0` is position 0, a cursor from another
 * epoch (the inbox was rebuilt, or it is another history) is a conflict.
 */
function positionOf(cursor: string, head: InboxHead, field: string): number {
  if (cursor === EMPTY_STREAM_CURSOR) return 0;
  const at = parseStreamPosition(cursor);
  if (!at)
    throw new AppError('validation_failed', 'invalid cursor', [
      { path: field, message: 'not an inbox cursor this API issued' },
    ]);
  if (at.epoch !== head.epoch)
    throw new AppError(
      'conflict',
      'the cursor is from another history of this inbox (it was rebuilt); read the inbox again',
      [
        {
          path: field,
          message: `epoch ${at.epoch} is not the inbox's (${head.epoch || 'none yet'})`,
        },
      ],
    );
  return at.position;
}

export interface PageQuery {
  limit?: number;
  cursor?: string;
  status?: PageFilter['status'];
  archived?: PageFilter['archived'];
  workspaceId?: number;
}

/** The counts of an inbox head, with the cursor of its position. */
function countsOf(head: InboxHead): NotificationCounts {
  return { ...head.counts, cursor: inboxCursor(head.epoch, head.position) };
}

/** A stored notification as the API's JSON text; seen when read or at or before the seen watermark. */
function notificationOf(n: StoredNotification, head: InboxHead): string {
  const { workspaceId, deliveredMs, activityJson } = splitInboxEntry(n.entry);
  return notificationJson({
    id: n.id,
    cursor: inboxCursor(head.epoch, n.position),
    activityJson,
    workspaceId,
    seen: n.read || n.position <= head.seenUpTo,
    read: n.read,
    archived: n.archived,
    deliveredMs,
  });
}

/** The user's inbox head once the record at `at` is applied, or undefined at `deadline`. */
async function appliedHead(
  store: InboxStore,
  userId: number,
  at: { partition: number; offset: bigint },
  deadline: number,
): Promise<InboxHead | undefined> {
  for (;;) {
    if ((await store.appliedOffset(userId, at.partition)) > at.offset) return store.head(userId);
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, APPLIED_POLL_MS));
  }
}

/** A mark's ids split into those the inbox keeps and those it does not (`ignored`); no ids, no split. */
async function knownIds(
  store: InboxStore,
  userId: number,
  body: MarkBody | { upTo?: string },
): Promise<{ ids: string[] | undefined; ignored: string[] }> {
  if (!('ids' in body)) return { ids: undefined, ignored: [] };
  const unique = [...new Set(body.ids)];
  const known = await store.known(userId, unique);
  return {
    ids: unique.filter((id) => known.has(id)),
    ignored: unique.filter((id) => !known.has(id)),
  };
}

/** A page: the notifications as JSON texts (the stored activities go out as they are), the counts, the inbox's cursor, the next page's cursor. */
async function inboxPage(
  store: InboxStore,
  userId: number,
  q: PageQuery,
): Promise<{
  results: string[];
  counts: InboxCounts;
  cursor: string;
  nextCursor: string | null;
}> {
  const limit = q.limit ?? InboxLimits.pageDefaultItems;
  const before =
    q.cursor === undefined
      ? undefined
      : positionOf(q.cursor, await store.head(userId), 'query.cursor');
  const { head, items } = await store.page(userId, {
    ...(before === undefined ? {} : { before }),
    limit,
    status: q.status ?? 'all',
    archived: q.archived ?? 'exclude',
    ...(q.workspaceId === undefined ? {} : { workspaceId: q.workspaceId }),
  });
  const page = items.slice(0, limit);
  const results = page.map((n) => notificationOf(n, head));
  const nextCursor = items.length > limit ? inboxCursor(head.epoch, page.at(-1)!.position) : null;
  return {
    results,
    counts: head.counts,
    cursor: inboxCursor(head.epoch, head.position),
    nextCursor,
  };
}

/** The inbox use cases: pages and counts from Redis, marks through Kafka. */
export function inboxUseCases(store: InboxStore, options: { markWaitMs: number }) {
  return {
    page: (userId: number, q: PageQuery) => inboxPage(store, userId, q),

    async counts(userId: number, workspaceId?: number): Promise<NotificationCounts> {
      return countsOf(await store.head(userId, workspaceId));
    },

    /**
     * Publishes a mark and waits (at most `markWaitMs`) until it is applied: then the new counts
     * (200), else `pending` (202). Ids the inbox does not keep are left out and answered in `ignored`.
     */
    async mark(
      userId: number,
      action: MarkAction,
      body: MarkBody | { upTo?: string },
    ): Promise<{ status: 200 | 202; body: MarkResult }> {
      const head = await store.head(userId);
      const upTo =
        'upTo' in body && body.upTo !== undefined
          ? positionOf(body.upTo, head, 'body.upTo')
          : undefined;
      const { ids, ignored } = await knownIds(store, userId, body);
      if (ids?.length === 0) return { status: 200, body: { ...countsOf(head), ignored } };
      const workspaceId = 'workspaceId' in body ? body.workspaceId : undefined;
      const { partition, offset } = await store.publishMark({
        recipientId: userId,
        action,
        ...(ids ? { ids } : {}),
        ...(upTo === undefined ? {} : { upTo }),
        ...(workspaceId === undefined ? {} : { workspaceId }),
      });
      const deadline = Date.now() + options.markWaitMs;
      const after = await appliedHead(store, userId, { partition, offset }, deadline);
      if (!after) return { status: 202, body: { pending: true, ignored } };
      return { status: 200, body: { ...countsOf(after), ignored } };
    },
  };
}
export type InboxUseCases = ReturnType<typeof inboxUseCases>;
