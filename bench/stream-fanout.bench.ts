// Stream fan-out: deliveries/s sustained with p99 publish→receive <= 50 ms, CPU per delivery and
// RSS per idle connection, for our gateway and, with the same load client in the same run, a
// minimal ws server (the floor) and Centrifugo v6 (the anchor, when its binary is available).
// Each shape runs BENCH_ROUNDS times with the targets in rotating order, and the summary reports
// each target's median: on a shared 2-core machine one run moves by tens of percent.
//   npm run bench:stream    (BENCH_CONNECTIONS=1000,10000  BENCH_STEP_SECONDS=4  BENCH_ROUNDS=3)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { ProjectionKeys, encodeLiveBatch } from '@suite/contracts';
import { signDevToken } from '@suite/auth';
import { freePort, infraUp } from '@suite/local-infra';

const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1000,10000').split(',').map(Number);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// Rates rise by 25% a step (2.5k to ~160k), so "best" is resolved to a quarter, not a doubling.
const RATES = Array.from({ length: 19 }, (_, i) => Math.round((2_500 * 1.25 ** i) / 100) * 100);
const SECRET = 'bench-secret-bench-secret-bench-secret-00';
const CENTRIFUGO = [process.env.CENTRIFUGO_BIN, '/tmp/centbin/centrifugo'].find(
  (p) => p && existsSync(p),
);
const out = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { redisUrl } = process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : await infraUp();
const redis = new Redis(redisUrl);
const now = () => performance.timeOrigin + performance.now();

type Target = 'gateway' | 'ws-floor' | 'centrifugo';

interface Server {
  child: ChildProcess;
  port: number;
  publish(userIds: number[], payloads: string[]): Promise<void>;
}

function procStat(pid: number): { cpuTicks: number; rssKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    cpuTicks: Number(stat[11]) + Number(stat[12]),
    rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0),
  };
}

async function startServer(target: Target, prefix: string): Promise<Server> {
  /** Each user's last stream position on this server: positions are consecutive per user. */
  const positions = new Map<number, number>();
  const port = await freePort();
  let child: ChildProcess;
  if (target === 'centrifugo') {
    const config = join(tmpdir(), `centrifugo-bench-${port}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        http_server: { port: String(port), address: '127.0.0.1' },
        log: { level: 'error' },
        engine: { type: 'memory' },
        client: { insecure: true, allowed_origins: ['*'] },
        http_api: { insecure: true },
        channel: { without_namespace: { allow_subscribe_for_client: true } },
      }),
    );
    child = spawn(CENTRIFUGO!, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    const script =
      target === 'gateway' ? 'bench/stream/gateway-server.ts' : 'bench/stream/floor-server.ts';
    const args =
      target === 'gateway'
        ? [String(port), redisUrl, prefix, SECRET]
        : [String(port), redisUrl, prefix];
    child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
  for (let i = 0; i < 200; i++) {
    const up = await fetch(
      `http://127.0.0.1:${port}/${target === 'centrifugo' ? 'health' : 'healthz'}`,
    ).then(
      (r) => r.ok,
      () => false,
    );
    if (
      up ||
      (target === 'ws-floor' &&
        (await fetch(`http://127.0.0.1:${port}/`).then(
          () => true,
          () => false,
        )))
    )
      break;
    await sleep(100);
  }
  const publish =
    target === 'centrifugo'
      ? async (users: number[], payloads: string[]) => {
          const body = {
            commands: users.map((u, i) => ({
              publish: { channel: `user${u}`, data: JSON.parse(payloads[i]!) },
            })),
          };
          await fetch(`http://127.0.0.1:${port}/api/batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
        }
      : async (users: number[], payloads: string[]) => {
          const pipeline = redis.pipeline();
          // The gateway's input is what the activity-service publishes: a live batch (epoch, the
          // user's next stream position, the activity JSON).
          const toBatch = (p: string, u: number) => {
            const position = (positions.get(u) ?? 0) + 1;
            positions.set(u, position);
            return encodeLiveBatch('bench', position, [
              { json: p.slice(p.indexOf('"activity":') + 11, -1) },
            ]);
          };
          users.forEach((u, i) =>
            pipeline.publish(
              ProjectionKeys.liveChannel(prefix, u),
              target === 'gateway' ? toBatch(payloads[i]!, u) : payloads[i]!,
            ),
          );
          await pipeline.exec();
        };
  return { child, port, publish };
}

interface Client {
  latencies: number[];
  received: number;
  sockets: WebSocket[];
  /** Sockets the server closed during the measurement: any makes the run invalid. */
  closed: number;
}

async function connect(
  target: Target,
  server: Server,
  connections: number,
  perUser: number,
): Promise<Client> {
  const client: Client = { latencies: [], received: 0, sockets: [], closed: 0 };
  const users = connections / perUser;
  const token = await signDevToken(SECRET, { sub: '1', roles: ['admin'], ttlSeconds: 3600 });
  const open = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const user = 1 + (i % users);
      const url =
        target === 'centrifugo'
          ? `ws://127.0.0.1:${server.port}/connection/websocket`
          : `ws://127.0.0.1:${server.port}/api/v1/users/${user}/activity-stream`;
      const ws = new WebSocket(
        url,
        target === 'gateway' ? { headers: { authorization: `Bearer ${token}` } } : {},
      );
      ws.on('message', (data: Buffer) => {
        // Centrifugo batches several newline-separated replies in one frame.
        for (const text of data.toString().split('\n')) {
          const at = text.indexOf('"t":');
          if (at >= 0) {
            client.latencies.push(now() - Number.parseFloat(text.slice(at + 4, at + 24)));
            client.received += 1;
          } else if (target === 'centrifugo' && text === '{}') {
            // Centrifugo's application-level ping: a client that does not answer is closed
            // (3012 "no pong") about 30 s after connecting.
            ws.send('{}');
          } else if (target !== 'centrifugo' || text.includes('"subscribe"')) {
            resolve();
          }
        }
      });
      ws.on('open', () => {
        if (target === 'centrifugo')
          ws.send(`{"id":1,"connect":{}}\n{"id":2,"subscribe":{"channel":"user${user}"}}`);
      });
      ws.on('error', reject);
      ws.on('close', () => {
        client.closed += 1;
      });
      client.sockets.push(ws);
    });
  for (let i = 0; i < connections; i += 250)
    await Promise.all(
      Array.from({ length: Math.min(250, connections - i) }, (_, k) => open(i + k)),
    );
  return client;
}

function payload(user: number, seq: number): string {
  return `{"type":"activity","cursor":"MDAxNzY3MjI1ODQzMDAwOmI${seq}","activity":{"id":"b${seq}","userId":${user},"time":"2026-07-01T00:00:00.000Z","source":"/bench","actorId":${user},"verb":"viewed","object":{"type":"doc","id":"${seq % 997}"},"workspaceId":7,"metadata":{"t":${now().toFixed(3)}}}}`;
}

async function step(
  server: Server,
  client: Client,
  users: number,
  perUser: number,
  deliveriesPerSecond: number,
) {
  const messagesPerSecond = deliveriesPerSecond / perUser;
  client.latencies = [];
  client.received = 0;
  const cpu0 = procStat(server.child.pid!).cpuTicks;
  const started = now();
  let seq = 0;
  // Paced by elapsed time: each round publishes what is due, so timer jitter does not lower the rate.
  for (let elapsed = 0; elapsed < STEP_SECONDS * 1000; elapsed = now() - started) {
    const due = Math.min(5000, Math.floor((messagesPerSecond * elapsed) / 1000) - seq);
    if (due > 0) {
      const ids = Array.from({ length: due }, () => 1 + Math.floor(Math.random() * users));
      await server.publish(
        ids,
        ids.map((u) => payload(u, seq++)),
      );
    } else {
      await sleep(2);
    }
  }
  const published = seq * perUser;
  const seconds = (now() - started) / 1000;
  for (let waited = 0; client.received < published && waited < 2000; waited += 50) await sleep(50);
  const cpuTicks = procStat(server.child.pid!).cpuTicks - cpu0;
  const sorted = client.latencies.sort((a, b) => a - b);
  const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? Infinity;
  return {
    achieved: client.received / seconds,
    p99,
    lost: published - client.received,
    cpuUsPerDelivery: (cpuTicks * 10_000) / Math.max(client.received, 1),
    published,
  };
}

const targets: Target[] = [
  'gateway',
  'ws-floor',
  ...(CENTRIFUGO ? (['centrifugo'] as Target[]) : []),
];
if (!CENTRIFUGO)
  out(
    '(Centrifugo binary not found: set CENTRIFUGO_BIN or `GOBIN=/tmp/centbin go install github.com/centrifugal/centrifugo/v6@v6.9.1`)',
  );
out('# stream fan-out benchmark (load client, Redis and server share this 2-core machine)');
out(
  'target      conns  per-user  idle RSS/conn  best deliveries/s @ p99<=50ms   cpu/delivery   steps (target→achieved, p99)',
);
/** One target at one shape: connect, measure idle RSS, then climb the rates until a step fails. */
async function measure(target: Target, connections: number, perUser: number) {
  const server = await startServer(target, `sb${Date.now()}:`);
  await sleep(500);
  const rss0 = procStat(server.child.pid!).rssKb;
  const client = await connect(target, server, connections, perUser);
  await sleep(2000);
  // Includes the process's one-off growth from its first connections; `npm run bench:stream-memory`
  // measures the marginal cost of an idle connection.
  const rssPerConn = ((procStat(server.child.pid!).rssKb - rss0) * 1024) / connections;
  // Warm-up (not reported): JIT, first subscriptions and socket buffers settle.
  await step(server, client, connections / perUser, perUser, RATES[0]!);
  let best = 0;
  let bestCpu = 0;
  const steps: string[] = [];
  for (const rate of RATES) {
    const r = await step(server, client, connections / perUser, perUser, rate);
    steps.push(
      `${(rate / 1000).toFixed(1)}k→${(r.achieved / 1000).toFixed(1)}k,${r.p99.toFixed(0)}ms${r.lost ? `,lost ${r.lost}` : ''}`,
    );
    if (r.p99 <= 50 && r.lost === 0 && r.achieved >= 0.8 * rate) {
      best = r.achieved;
      bestCpu = r.cpuUsPerDelivery;
    } else break;
  }
  out(
    `${target.padEnd(11)} ${String(connections).padStart(5)}  ${String(perUser).padStart(8)}  ${(rssPerConn / 1024).toFixed(1).padStart(10)} KB  ${best.toFixed(0).padStart(28)}   ${bestCpu.toFixed(1).padStart(9)} us   ${steps.join(' ')}`,
  );
  if (client.closed > 0)
    out(
      `  !! ${client.closed} sockets were closed by ${target} during the run: its numbers above are not valid`,
    );
  for (const ws of client.sockets) ws.terminate();
  server.child.kill('SIGKILL');
  await sleep(500);
  return { best, bestCpu, rssPerConn };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const summary: string[] = [];
for (const connections of CONNECTIONS) {
  for (const perUser of [1, 4]) {
    const results = new Map<Target, { best: number; bestCpu: number; rssPerConn: number }[]>(
      targets.map((t) => [t, []]),
    );
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so no target always runs first (or last) in a round.
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const target of order)
        results.get(target)!.push(await measure(target, connections, perUser));
    }
    for (const [target, runs] of results) {
      summary.push(
        `${target.padEnd(11)} ${String(connections).padStart(5)}  ${String(perUser).padStart(8)}  ${(median(runs.map((r) => r.rssPerConn)) / 1024).toFixed(1).padStart(10)} KB  ${median(
          runs.map((r) => r.best),
        )
          .toFixed(0)
          .padStart(22)}   ${median(runs.map((r) => r.bestCpu))
          .toFixed(1)
          .padStart(9)} us   ${runs.map((r) => (r.best / 1000).toFixed(1)).join(' / ')}`,
      );
    }
  }
}
out(`\n# median of ${ROUNDS} rounds`);
out(
  'target      conns  per-user  idle RSS/conn  median best deliveries/s   cpu/delivery   best per round (k/s)',
);
for (const line of summary) out(line);
redis.disconnect();
process.exit(0);
