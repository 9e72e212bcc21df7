// Where a user's step spends Redis CPU: the activity step script (APPLY_USER) run directly on the
// local Redis, whole and with one part left out at a time, steps of BENCH_STEP_EVENTS events
// (6: the average step of `npm run bench:activity`) over 2,000 users, 64 scripts in flight.
// Then the inbox step script (APPLY_INBOX) the same way, in steps of one delivery (the usual inbox
// step: a recipient rarely has two deliveries in one chunk), whole and with the call only.
// Redis CPU is `used_cpu_user + used_cpu_sys` before and after. Variants that leave a part out are
// for this breakdown only (they do not keep the projections' rules).
//   npm run bench:step            (BENCH_STEPS=20000, BENCH_STEP_EVENTS=6)
import { Redis } from 'ioredis';
import { ProjectionKeys, StatsField, formatLayout, inboxKeys, slotOf } from '@suite/contracts';
import { infraUp } from '@suite/local-infra';
import {
  APPLY_USER,
  dedupId,
} from '../services/activity-service/src/data-access/activity.transaction.js';
import { APPLY_INBOX } from '../services/activity-service/src/data-access/inbox.transaction.js';

const STEPS = Number(process.env.BENCH_STEPS ?? 20_000);
const PER_STEP = Number(process.env.BENCH_STEP_EVENTS ?? 6);
const USERS = 2000;
const up = process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : await infraUp();
const redis = new Redis(up.redisUrl);

/** The script whole, and with one part left out (each replacement must find its text, or the bench stops). */
const cut = (from: string, to: string) => (s: string) => {
  if (!s.includes(from)) throw new Error(`the step script no longer has: ${from}`);
  return s.replace(from, to);
};
const variants: [string, (s: string) => string][] = [
  ['whole step', (s) => s],
  [
    'call and marker check only',
    (s) =>
      `${s.slice(0, s.indexOf('local stats, seen, feed, log'))}\nreturn { 'applied', 0, 0, 0, 0 }`,
  ],
  [
    'without the dedup lookups (ZSCORE)',
    cut("local score = redis.call('ZSCORE', bucket, id)", 'local score = nil'),
  ],
  [
    'without the dedup marks (ZADD per bucket)',
    cut("for bucket, list in pairs(marks) do sliced('ZADD', bucket, list, 2000) end\n\n", '\n'),
  ],
  [
    'without the stream log (RPUSH)',
    cut(
      "for at = 1, #bodies, 1000 do length = redis.call('RPUSH', log, unpack(bodies, at, math.min(at + 999, #bodies))) end",
      '',
    ),
  ],
  [
    'without the feed blocks (ZADD)',
    cut("for block, list in pairs(blocks) do sliced('ZADD', block, list, 2000) end", ''),
  ],
  ['without the stats write (HSET)', cut("redis.call('HSET', stats, unpack(set))", '')],
];

const cpu = async () => {
  const info = await redis.info('cpu');
  const value = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)![1]);
  return value('used_cpu_user') + value('used_cpu_sys');
};
const json = JSON.stringify({
  specversion: '1.0',
  id: 'x'.repeat(36),
  source: '/bench',
  type: 'io.activitysuite.activity.recorded',
  time: new Date().toISOString(),
  subject: '1',
  data: { actorId: 1, verb: 'edited', object: { type: 'doc', id: 'd1' }, workspaceId: 3 },
});

/** One activity step's keys and arguments: `PER_STEP` events of `user` from `offset`. */
function activityStep(prefix: string, layout: string, user: number, offset: number, n: number) {
  const args: (string | number)[] = [
    layout,
    `${StatsField.appliedOffset}0`,
    '',
    7 * 86_400_000,
    500,
    100_000,
    100,
    'publish',
    ProjectionKeys.liveChannel(prefix, user),
    'activity.events:0',
    '0',
  ];
  for (let j = 0; j < PER_STEP; j++, n++) {
    const now = Date.now();
    args.push(String(offset++), dedupId(`e${n}`), now, 1 + (n % 5), now - 1000, json, '');
  }
  args[2] = String(offset);
  const keys = [
    ProjectionKeys.layout(prefix),
    ProjectionKeys.stats(prefix, user),
    ProjectionKeys.seen(prefix, user),
    ProjectionKeys.feed(prefix, user),
    ProjectionKeys.log(prefix, user),
    ProjectionKeys.slotFence(prefix, slotOf(ProjectionKeys.user('', user))),
  ];
  return { keys, args, records: PER_STEP };
}

/** One inbox step's keys and arguments: one delivery to `user` at `offset`. */
function inboxStep(prefix: string, layout: string, user: number, offset: number, n: number) {
  const args: (string | number)[] = [
    layout,
    'o:0',
    String(offset + 1),
    1000,
    90 * 86_400_000,
    'inbox.events:0',
    '0',
    'publish',
    ProjectionKeys.liveChannel(prefix, user),
  ];
  args.push(String(offset), Date.now(), 'd', `d${n}`.padStart(22, '0'), 3, json, '');
  const inbox = inboxKeys(prefix, user);
  const keys = [
    ProjectionKeys.layout(prefix),
    ...inbox.slice(0, 6),
    ProjectionKeys.slotFence(prefix, slotOf(ProjectionKeys.user('', user))),
    ProjectionKeys.stats(prefix, user),
    inbox[6]!,
  ];
  return { keys, args, records: 1 };
}

async function run(name: string, script: string, step = activityStep): Promise<number> {
  const sha = (await redis.script('LOAD', script)) as string;
  const prefix = `benchstep${process.pid}:`;
  const layout = formatLayout('benchstep');
  await redis.set(ProjectionKeys.layout(prefix), layout);
  const offsets = new Map<number, number>();
  let n = 0;
  let perStepRecords = 1;
  const before = await cpu();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < STEPS; i++) {
    const user = i % USERS;
    const offset = offsets.get(user) ?? 0;
    const { keys, args, records } = step(prefix, layout, user, offset, n);
    n += records;
    perStepRecords = records;
    offsets.set(user, offset + records);
    inflight.push(redis.evalsha(sha, keys.length, ...keys, ...args));
    if (inflight.length >= 64) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
  const perStep = (((await cpu()) - before) * 1e6) / STEPS;
  for (let cursor = '0'; ;) {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (found.length > 0) await redis.unlink(...found);
    if ((cursor = next) === '0') break;
  }
  console.log(
    `${name.padEnd(44)} ${perStep.toFixed(1).padStart(7)} µs/step ${(perStep / perStepRecords).toFixed(2).padStart(7)} µs/record`,
  );
  return perStep;
}

console.log(
  `# the activity step script on ${up.redisUrl}: ${STEPS} steps of ${PER_STEP} events over ${USERS} users; Redis CPU per step`,
);
const whole = await run(variants[0]![0], APPLY_USER);
for (const [name, variant] of variants.slice(1)) {
  const without = await run(name, variant(APPLY_USER));
  if (name !== 'call and marker check only')
    console.log(`${''.padEnd(44)} that part: ${(whole - without).toFixed(1)} µs/step`);
}

console.log(
  `# the inbox step script: ${STEPS} steps of one delivery over ${USERS} users; Redis CPU per step`,
);
const inboxWhole = await run('whole inbox step', APPLY_INBOX, inboxStep);
const inboxCall = await run(
  'call and marker check only',
  `${APPLY_INBOX.slice(0, APPLY_INBOX.indexOf('local generation'))}\nreturn { 'applied', 0, 0, 0, 0 }`,
  inboxStep,
);
console.log(`${''.padEnd(44)} the rest: ${(inboxWhole - inboxCall).toFixed(1)} µs/step`);
redis.disconnect();
