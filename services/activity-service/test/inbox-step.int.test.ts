import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INBOX_DELIVERED_TYPE,
  INBOX_MARKED_TYPE,
  ProjectionKeys,
  formatLayout,
  inboxEvent,
  parseInboxLogEntry,
  type Activity,
  type InboxEvent,
  type MarkAction,
} from '@suite/contracts';
import { createRedis, type RedisClient } from '@suite/redis';
import { createLogger } from '@suite/logger';
import { isolate, testInfra } from '@suite/testkit';
import { InboxTransactions, type InboxWrite } from '../src/data-access/inbox.transaction.js';
import { countsOf, inboxOracle, storedInbox } from './inbox-oracle.js';

const infra = testInfra();
const DAY = 86_400_000;
const RETENTION = { maxItems: 6, maxAgeMs: 10 * DAY };
const USERS = [1, 2, 3];
const TOPIC = 'inbox.events';

let redis: RedisClient;
let connected: Promise<unknown>;
beforeAll(() => {
  redis = createRedis(
    infra.redisUrl,
    createLogger({ service: 'test', version: '0', level: 'silent' }),
    'inbox-step-test',
  );
  connected = redis.connect();
  return connected;
});
afterAll(() => redis.disconnect());

type Entry = { write: InboxWrite; event: InboxEvent; at: number };

/** A random inbox partition: deliveries on a record clock that jumps back and forth by days, redeliveries (of kept and of dropped ids) and every kind of mark. */
function randomLog(seed: number, length: number): Entry[] {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pickOf = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  const delivered = new Map<number, string[]>(USERS.map((u) => [u, []]));
  const positions = new Map<number, number>(USERS.map((u) => [u, 0]));
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const log: Entry[] = [];
  for (let offset = 0n; offset < BigInt(length); offset++) {
    const userId = pickOf(USERS);
    const own = delivered.get(userId)!;
    // The record clock lies: mostly forward by hours, sometimes back by days, sometimes ahead by weeks.
    const r = random();
    clock += r < 0.1 ? -3 * DAY : r < 0.15 ? 12 * DAY : Math.floor(random() * 8 * 3_600_000);
    const at = clock;
    const position = positions.get(userId)!;
    const base = { offset, userId, recordMs: at };
    const envelope = { id: `r${offset}`, source: '/test', time: new Date(at).toISOString() };
    if (random() < 0.6 || own.length === 0) {
      const again = own.length > 0 && random() < 0.15;
      const id = again ? pickOf(own) : `d${String(offset).padStart(21, '0')}`;
      if (!again) {
        own.push(id);
        positions.set(userId, position + 1);
      }
      const workspaceId = random() < 0.7 ? 7 : 8;
      const activity: Activity = {
        id: `a${offset}`,
        userId: 9,
        time: envelope.time,
        source: '/test',
        actorId: 9,
        verb: 'commented',
        object: { type: 'doc', id: `doc-${offset}` },
        workspaceId,
      };
      const write: InboxWrite = {
        ...base,
        kind: 'delivered',
        deliveryId: id,
        workspaceId,
        activityJson: JSON.stringify(activity),
      };
      const data = { deliveryId: id, recipientId: userId, workspaceId, activity };
      log.push({ write, at, event: inboxEvent(envelope, { type: INBOX_DELIVERED_TYPE, data }) });
      continue;
    }
    const action = pickOf<MarkAction>(['seen', 'read', 'unread', 'archive', 'unarchive']);
    const ids =
      action !== 'seen' && random() < 0.5
        ? own.filter(() => random() < 0.3).slice(0, 4)
        : undefined;
    const upTo = random() < 0.4 ? Math.floor(random() * (position + 3)) : undefined;
    const workspaceId = !ids && action !== 'seen' && random() < 0.3 ? 8 : undefined;
    const mark = {
      action,
      ...(ids && ids.length > 0 ? { ids } : {}),
      ...(upTo === undefined ? {} : { upTo }),
      ...(workspaceId === undefined ? {} : { workspaceId }),
    };
    positions.set(userId, position + 1);
    const write: InboxWrite = { ...base, kind: 'marked', ...mark };
    log.push({
      write,
      at,
      event: inboxEvent(envelope, {
        type: INBOX_MARKED_TYPE,
        data: { recipientId: userId, ...mark },
      }),
    });
  }
  return log;
}

/** Applies `log` in chunks cut at random (each chunk one `apply`, as the consumer does). */
async function applyInChunks(prefix: string, log: Entry[], seed: number): Promise<void> {
  await redis.set(ProjectionKeys.layout(prefix), formatLayout('gen1'));
  const inbox = new InboxTransactions(redis, connected, prefix, {
    ...RETENTION,
    live: 'off',
  });
  let state = seed;
  for (let first = 0; first < log.length;) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const size = 1 + (state % 12);
    const chunk = log.slice(first, first + size);
    const outcome = await inbox.apply(
      {
        topic: TOPIC,
        partition: 0,
        first: BigInt(first),
        last: BigInt(first + chunk.length - 1),
        fromLogStart: first === 0,
      },
      chunk.map((e) => e.write),
    );
    expect(outcome.kind).toBe('applied');
    first += chunk.length;
  }
}

describe('the inbox step against the oracle', () => {
  it('when record clocks lie and redeliveries and marks of every kind interleave, then each inbox, its counts after every entry and its log equal the oracle, however the log is cut', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const log = randomLog(seed, 400);
      const prefixes = [isolate(`inbox-step-a${seed}`), isolate(`inbox-step-b${seed}`)].map(
        (i) => i.keyPrefix,
      );
      await applyInChunks(prefixes[0]!, log, seed);
      await applyInChunks(prefixes[1]!, log, seed * 7919);
      for (const userId of USERS) {
        const records = log.filter((e) => e.write.userId === userId);
        const expected = inboxOracle(records, RETENTION);
        expect(await storedInbox(redis, prefixes[0]!, userId)).toEqual(expected);
        expect(await storedInbox(redis, prefixes[1]!, userId)).toEqual(expected);
        // The log keeps the newest entries (as many as the count retention), each with the counts
        // the oracle gives after it.
        const kept = await redis.lrange(ProjectionKeys.inboxLog(prefixes[0]!, userId), 0, -1);
        expect(kept).toEqual(
          await redis.lrange(ProjectionKeys.inboxLog(prefixes[1]!, userId), 0, -1),
        );
        expect(kept.length).toBe(Math.min(RETENTION.maxItems, expected.position));
        // Entries by position: a redelivery takes none, so the oracle runs on the records up to each.
        const applied = records.filter(
          (e, i) =>
            e.write.kind === 'marked' ||
            inboxOracle(records.slice(0, i + 1), RETENTION).position >
              inboxOracle(records.slice(0, i), RETENTION).position,
        );
        for (const text of kept) {
          const entry = parseInboxLogEntry(text)!;
          const upTo = records.indexOf(applied[entry.position - 1]!) + 1;
          expect(entry.counts, `seed ${seed} user ${userId} at ${entry.position}`).toEqual(
            countsOf(inboxOracle(records.slice(0, upTo), RETENTION)),
          );
        }
      }
    }
  }, 60_000);
});
