import { randomUUID } from 'node:crypto';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import {
  INBOX_COUNTS_LUA,
  INBOX_ENTRY_LUA,
  INBOX_MARKED_TYPE,
  inboxEvent,
  InboxField,
  inboxKeys,
  ProjectionKeys,
  Topics,
  type InboxCounts,
  type InboxMarkedData,
} from '@suite/contracts';
import type { RedisClient } from '@suite/redis';
import { luaString as lua } from './projection.state.js';

/**
 * Lua: an inbox's counts, `counts(ws, seenUpTo)` -> unseen, unread, total. Without a workspace they
 * are set sizes (O(log n)); with one, a pass over the kept notifications (bounded by the retention).
 */
const COUNTS = `${INBOX_ENTRY_LUA}
${INBOX_COUNTS_LUA}
local items, unread, archived, data = KEYS[2], KEYS[3], KEYS[5], KEYS[6]
local function counts(ws, seenUpTo)
  if ws == '' then return inboxCounts(items, unread, archived, seenUpTo) end
  local unseenN, unreadN, total = 0, 0, 0
  local all = redis.call('ZRANGE', items, 0, -1, 'WITHSCORES')
  for j = 1, #all, 2 do
    local entry = redis.call('HGET', data, all[j])
    if entry and inboxEntryIn(entry, ws) and not redis.call('ZSCORE', archived, all[j]) then
      total = total + 1
      if redis.call('ZSCORE', unread, all[j]) then
        unreadN = unreadN + 1
        if tonumber(all[j + 1]) > seenUpTo then unseenN = unseenN + 1 end
      end
    end
  end
  return unseenN, unreadN, total
end
`;

/** Reads the inbox head: position, seen watermark, epoch. */
const HEAD = `local head = redis.call('HMGET', KEYS[1], ${lua(InboxField.position)}, ${lua(InboxField.seenUpTo)}, ${lua(InboxField.epoch)})
local position, seenUpTo, epoch = tonumber(head[1] or '0'), tonumber(head[2] or '0'), head[3] or ''
`;

/**
 * One page and the counts, atomically. KEYS: inbox, items, unread, read, archived, data. ARGV:
 * before (a position, exclusive; '' for the newest), limit, status (all, unread, unseen), archived
 * (exclude, include, only), workspace ('' for all). Returns position, seen watermark, epoch, the
 * three counts, then per notification: id, position, read (1/0), archived (1/0), entry. Up to
 * limit + 1 notifications (one more says there is a next page); the scan is bounded by the retention.
 */
const READ_PAGE = `${COUNTS}${HEAD}
local before, limit, status, mode, ws = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local unseenN, unreadN, total = counts(ws, seenUpTo)
local out = { position, seenUpTo, epoch, unseenN, unreadN, total }
local found, max = 0, before == '' and '+inf' or '(' .. before
while found <= limit do
  local batch = redis.call('ZRANGE', items, max, '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 100, 'WITHSCORES')
  if #batch == 0 then break end
  for j = 1, #batch, 2 do
    local id, at = batch[j], tonumber(batch[j + 1])
    local isRead = redis.call('ZSCORE', KEYS[4], id) and 1 or 0
    local isArchived = redis.call('ZSCORE', archived, id) and 1 or 0
    local ok = mode == 'include' or (mode == 'only' and isArchived == 1) or (mode == 'exclude' and isArchived == 0)
    if ok and status ~= 'all' then ok = isRead == 0 and (status == 'unread' or at > seenUpTo) end
    local entry = ok and redis.call('HGET', data, id)
    if entry and inboxEntryIn(entry, ws) then
      for _, v in ipairs({ id, at, isRead, isArchived, entry }) do out[#out + 1] = v end
      found = found + 1
      if found > limit then break end
    end
  end
  max = '(' .. batch[#batch]
end
return out
`;

/** The counts alone. KEYS as READ_PAGE; ARGV: workspace ('' for all). Returns position, seen watermark, epoch, the counts. */
const READ_COUNTS = `${COUNTS}${HEAD}
local unseenN, unreadN, total = counts(ARGV[1], seenUpTo)
return { position, seenUpTo, epoch, unseenN, unreadN, total }
`;

export interface InboxHead {
  /** The newest position (0: nothing yet). */
  position: number;
  seenUpTo: number;
  /** '' while the inbox has had nothing. */
  epoch: string;
  counts: InboxCounts;
}

export interface StoredNotification {
  id: string;
  position: number;
  read: boolean;
  archived: boolean;
  /** `inboxEntry`. */
  entry: string;
}

export interface PageFilter {
  before?: number;
  limit: number;
  status: 'all' | 'unread' | 'unseen';
  archived: 'exclude' | 'include' | 'only';
  workspaceId?: number;
}

type Reply = (string | number)[];
type InboxRedis = RedisClient & {
  readInboxPage(...args: (string | number)[]): Promise<Reply>;
  readInboxCounts(...args: (string | number)[]): Promise<Reply>;
};

function headOf(reply: Reply): InboxHead {
  return {
    position: Number(reply[0]),
    seenUpTo: Number(reply[1]),
    epoch: String(reply[2]),
    counts: { unseen: Number(reply[3]), unread: Number(reply[4]), total: Number(reply[5]) },
  };
}

/** Reads inboxes (one script per page or count, in the user's slot) and publishes marks to `inbox.events`. */
export class InboxStore {
  private readonly redis: InboxRedis;
  private readonly producer: Producer;
  private readonly topic: string;
  private connected: Promise<void> | undefined;

  constructor(
    redis: RedisClient,
    kafka: Kafka,
    private readonly prefix: string,
    topicPrefix: string,
  ) {
    redis.defineCommand('readInboxPage', { numberOfKeys: 6, lua: READ_PAGE });
    redis.defineCommand('readInboxCounts', { numberOfKeys: 6, lua: READ_COUNTS });
    this.redis = redis as InboxRedis;
    // Keyed by the recipient with the default partitioner, as the router's deliveries: one order per recipient.
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.topic = `${topicPrefix}${Topics.inboxEvents}`;
  }

  private keys(userId: number): string[] {
    // All but the log.
    return inboxKeys(this.prefix, userId).slice(0, 6);
  }

  async page(
    userId: number,
    filter: PageFilter,
  ): Promise<{ head: InboxHead; items: StoredNotification[] }> {
    const reply = await this.redis.readInboxPage(
      ...this.keys(userId),
      filter.before ?? '',
      filter.limit,
      filter.status,
      filter.archived,
      filter.workspaceId ?? '',
    );
    const items: StoredNotification[] = [];
    for (let i = 6; i < reply.length; i += 5)
      items.push({
        id: String(reply[i]),
        position: Number(reply[i + 1]),
        read: reply[i + 2] === 1,
        archived: reply[i + 3] === 1,
        entry: String(reply[i + 4]),
      });
    return { head: headOf(reply), items };
  }

  async head(userId: number, workspaceId?: number): Promise<InboxHead> {
    return headOf(await this.redis.readInboxCounts(...this.keys(userId), workspaceId ?? ''));
  }

  /** Which of `ids` the inbox keeps. */
  async known(userId: number, ids: string[]): Promise<Set<string>> {
    const scores = await this.redis.zmscore(ProjectionKeys.inboxItems(this.prefix, userId), ...ids);
    return new Set(ids.filter((_, i) => scores[i] !== null));
  }

  /** The next offset of `partition` applied to this inbox. */
  async appliedOffset(userId: number, partition: number): Promise<bigint> {
    return BigInt(
      (await this.redis.hget(
        ProjectionKeys.inbox(this.prefix, userId),
        `${InboxField.appliedOffset}${partition}`,
      )) ?? '0',
    );
  }

  /** Publishes a mark once Kafka acknowledged it (acks=all); answers where it landed. */
  async publishMark(data: InboxMarkedData): Promise<{ partition: number; offset: bigint }> {
    this.connected ??= this.producer.connect().catch((err: unknown) => {
      this.connected = undefined;
      throw err;
    });
    await this.connected;
    const event = inboxEvent(
      { id: randomUUID(), source: '/activity-service/inbox', time: new Date().toISOString() },
      { type: INBOX_MARKED_TYPE, data },
    );
    const [meta] = await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [{ key: String(data.recipientId), value: JSON.stringify(event) }],
    });
    return { partition: meta!.partition, offset: BigInt(meta!.baseOffset!) };
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
