import type { RedisClient } from '@suite/redis';
import { Kafka, logLevel } from 'kafkajs';
import { INBOX_DELIVERED_TYPE, InboxEvent, InboxField, ProjectionKeys } from '@suite/contracts';

/** An inbox as sets and watermarks: what Redis holds and what the oracle computes, compared whole. */
export interface InboxState {
  position: number;
  seenUpTo: number;
  readUpTo: number;
  /** Kept notifications, by position: `<id>@<position>`. */
  items: string[];
  read: string[];
  archived: string[];
  unread: string[];
}

/** The inbox of `userId` as Redis holds it. */
export async function storedInbox(
  redis: RedisClient,
  prefix: string,
  userId: number,
): Promise<InboxState> {
  const ids = async (key: string) => {
    const flat = await redis.zrange(key, 0, -1, 'WITHSCORES');
    const out: string[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push(`${flat[i]}@${flat[i + 1]}`);
    return out;
  };
  const head = await redis.hmget(
    ProjectionKeys.inbox(prefix, userId),
    InboxField.position,
    InboxField.seenUpTo,
    InboxField.readUpTo,
  );
  return {
    position: Number(head[0] ?? 0),
    seenUpTo: Number(head[1] ?? 0),
    readUpTo: Number(head[2] ?? 0),
    items: await ids(ProjectionKeys.inboxItems(prefix, userId)),
    read: await ids(ProjectionKeys.inboxRead(prefix, userId)),
    archived: await ids(ProjectionKeys.inboxArchived(prefix, userId)),
    unread: await ids(ProjectionKeys.inboxUnread(prefix, userId)),
  };
}

/** Every committed record of `topic` keyed `key`, in partition order, with its record time. */
export async function inboxRecords(
  brokers: string[],
  topic: string,
  key: string,
): Promise<{ event: InboxEvent; at: number }[]> {
  const kafka = new Kafka({ clientId: 'inbox-oracle', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map(
    (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]),
  );
  await admin.disconnect();
  const consumer = kafka.consumer({
    groupId: `inbox-oracle-${Math.random().toString(36).slice(2)}`,
    readUncommitted: false,
  });
  const records: { event: InboxEvent; at: number; partition: number; offset: bigint }[] = [];
  const reached = new Map<number, bigint>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  // Done when every partition reached its end (a transaction marker may be the last offset), or after a quiet second.
  const done = new Promise<void>((resolve) => {
    let quiet = setTimeout(resolve, 3000);
    const check = () =>
      [...ends].every(([p, end]) => end === 0n || (reached.get(p) ?? -1n) >= end - 2n);
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        reached.set(partition, BigInt(message.offset));
        if (String(message.key) === key)
          records.push({
            event: InboxEvent.parse(JSON.parse(String(message.value))),
            at: Number(message.timestamp),
            partition,
            offset: BigInt(message.offset),
          });
        clearTimeout(quiet);
        quiet = setTimeout(resolve, check() ? 300 : 1000);
      },
    });
  });
  await done;
  await consumer.disconnect();
  return records
    .sort((a, b) => (a.offset < b.offset ? -1 : 1))
    .map(({ event, at }) => ({ event, at }));
}

/** What the inbox must be after `records`, by the contract (docs/activity-service.md "Inbox"), written without Redis. */
export function inboxOracle(
  records: { event: InboxEvent; at: number }[],
  retention: { maxItems: number; maxAgeMs: number },
): InboxState {
  let position = 0;
  let seenUpTo = 0;
  let readUpTo = 0;
  let clock = 0;
  const items = new Map<string, { position: number; workspaceId: number; at: number }>();
  const read = new Set<string>();
  const archived = new Set<string>();
  const drop = (id: string) => {
    items.delete(id);
    read.delete(id);
    archived.delete(id);
  };
  for (const { event, at } of records) {
    if (event.type === INBOX_DELIVERED_TYPE) {
      const d = event.data as { deliveryId: string; workspaceId: number };
      if (items.has(d.deliveryId)) continue;
      position += 1;
      clock = Math.max(clock, at);
      items.set(d.deliveryId, { position, workspaceId: d.workspaceId, at });
      const byPosition = [...items].sort((a, b) => a[1].position - b[1].position);
      while (byPosition.length > retention.maxItems) drop(byPosition.shift()![0]);
      while (byPosition.length > 0 && byPosition[0]![1].at < clock - retention.maxAgeMs)
        drop(byPosition.shift()![0]);
      continue;
    }
    const m = event.data as { action: string; ids?: string[]; upTo?: number; workspaceId?: number };
    position += 1;
    const limit = Math.min(position - 1, m.upTo ?? Infinity);
    if (m.action === 'seen') {
      seenUpTo = Math.max(seenUpTo, limit);
      continue;
    }
    const targets = m.ids
      ? m.ids.filter((id) => (items.get(id)?.position ?? Infinity) <= limit)
      : [...items]
          .filter(
            ([, item]) =>
              item.position <= limit &&
              (m.workspaceId === undefined || item.workspaceId === m.workspaceId),
          )
          .map(([id]) => id);
    if (!m.ids && m.action === 'read' && m.workspaceId === undefined)
      readUpTo = Math.max(readUpTo, limit);
    for (const id of targets) {
      if (m.action === 'read') read.add(id);
      if (m.action === 'unread') read.delete(id);
      if (m.action === 'archive') archived.add(id);
      if (m.action === 'unarchive') archived.delete(id);
    }
  }
  const list = (ids: Iterable<string>) =>
    [...ids]
      .map((id) => ({ id, position: items.get(id)!.position }))
      .sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : 1))
      .map((e) => `${e.id}@${e.position}`);
  return {
    position,
    seenUpTo,
    readUpTo,
    items: list(items.keys()),
    read: list(read),
    archived: list(archived),
    unread: list([...items.keys()].filter((id) => !read.has(id) && !archived.has(id))),
  };
}

/** The counts an inbox state implies: exact, from the sets. */
export function countsOf(state: InboxState): { unseen: number; unread: number; total: number } {
  const position = (entry: string) => Number(entry.slice(entry.lastIndexOf('@') + 1));
  return {
    unseen: state.unread.filter((e) => position(e) > state.seenUpTo).length,
    unread: state.unread.length,
    total: state.items.length - state.archived.length,
  };
}
