// Idle memory per WebSocket connection on the gateway: RSS after connecting in steps (0, 1k, 2k,
// 5k, 10k sockets, one user each, each socket past its `ready`), and the growth per connection
// between steps. The first step includes the process's one-off growth (code compiled on first
// use, heap and buffer pools sized up); the later steps are the marginal cost.
//   npm run bench:stream-memory    (BENCH_MEMORY_STEPS=1000,2000,5000,10000)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { signDevToken } from '@suite/auth';
import { freePort, infraUp } from '@suite/local-infra';

const STEPS = (process.env.BENCH_MEMORY_STEPS ?? '1000,2000,5000,10000').split(',').map(Number);
const SECRET = 'bench-secret-bench-secret-bench-secret-00';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (line: string) => process.stdout.write(`${line}\n`);

const { redisUrl } = process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : await infraUp();
const port = await freePort();
const child = spawn(
  process.execPath,
  [
    '--conditions=source',
    '--import',
    'tsx',
    'bench/stream/gateway-server.ts',
    String(port),
    redisUrl,
    `sm${Date.now()}:`,
    SECRET,
  ],
  { stdio: 'ignore' },
);
for (
  let i = 0;
  i < 200 &&
  !(await fetch(`http://127.0.0.1:${port}/healthz`).then(
    (r) => r.ok,
    () => false,
  ));
  i++
)
  await sleep(100);
const rssMb = () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;

const token = await signDevToken(SECRET, { sub: '1', roles: ['admin'], ttlSeconds: 3600 });
const sockets: WebSocket[] = [];
const open = (user: number) =>
  new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/users/${user}/activity-stream`, {
      headers: { authorization: `Bearer ${token}` },
    });
    ws.once('message', () => resolve());
    ws.on('error', reject);
    sockets.push(ws);
  });

out('# gateway idle memory per connection (RSS read 3 s after each step)');
out('connections      RSS   KB per connection over the step');
await sleep(1000);
let previous = { connections: 0, rss: rssMb() };
out(`${String(0).padStart(11)}  ${previous.rss.toFixed(1).padStart(6)} MB`);
for (const target of STEPS) {
  while (sockets.length < target) {
    const from = sockets.length;
    await Promise.all(
      Array.from({ length: Math.min(250, target - from) }, (_, k) => open(1 + from + k)),
    );
  }
  await sleep(3000);
  const rss = rssMb();
  out(
    `${String(target).padStart(11)}  ${rss.toFixed(1).padStart(6)} MB  ${(((rss - previous.rss) * 1024) / (target - previous.connections)).toFixed(1).padStart(6)}`,
  );
  previous = { connections: target, rss };
}
for (const ws of sockets) ws.terminate();
child.kill('SIGKILL');
process.exit(0);
