// The reads benchmark's floors: a hello answer on bare node:http (BARE=node) or on bare Express
// (BARE=express, `res.json`), with nothing of the suite's stack, as a process of its own.
import { createServer } from 'node:http';
import express from 'express';

const port = Number(process.env.PORT);
const body = JSON.stringify({ hello: 'world' });
if (process.env.BARE === 'express') {
  const app = express();
  app.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
  app.get('/api/v1/hello', (_req, res) => res.json({ hello: 'world' }));
  app.listen(port, '127.0.0.1');
} else {
  createServer((req, res) => {
    res
      .writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      })
      .end(req.url === '/healthz' ? '{"status":"ok"}'.padEnd(body.length) : body);
  }).listen(port, '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
