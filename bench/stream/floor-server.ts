// The floor for the stream benchmark: a minimal ws server that subscribes to the same Redis
// channels and calls send() once per socket per message. No auth, no resume, no framing reuse.
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { ProjectionKeys } from '@suite/contracts';

const port = Number(process.argv[2] ?? 0);
const redisUrl = process.argv[3] ?? 'redis://127.0.0.1:6379';
const prefix = process.argv[4] ?? '';
const sub = new Redis(redisUrl);
const sockets = new Map<string, Set<WebSocket>>();
sub.on('message', (channel: string, message: string) => {
  for (const ws of sockets.get(channel) ?? []) ws.send(message);
});
const server = createServer((_req, res) => res.end('ok'));
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const user = /users\/(\d+)\//.exec(req.url ?? '')?.[1] ?? '0';
  const channel = ProjectionKeys.liveChannel(prefix, user);
  let set = sockets.get(channel);
  if (!set) {
    set = new Set();
    sockets.set(channel, set);
    void sub.subscribe(channel);
  }
  set.add(ws);
  ws.send('{"type":"ready","cursor":null}');
  ws.on('close', () => set!.delete(ws));
});
server.listen(port, '127.0.0.1', () =>
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`),
);
