import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@suite/logger';
import {
  createHttpApp,
  createMetrics,
  listen,
  Readiness,
  type RunningServer,
} from '@suite/server-kit';

let lines: Record<string, unknown>[] = [];
let server: RunningServer;

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      );
      done();
    },
  });
  const logger = createLogger({
    service: 'request-log',
    version: 'test',
    level: 'info',
    destination,
  });
  const app = createHttpApp({
    logger,
    metrics: createMetrics('request-log'),
    readiness: new Readiness({}, { logger }),
    api: [],
    routes: [],
    bodyLimit: '1kb',
    trustProxy: 'loopback',
  });
  server = await listen(app, 0, '127.0.0.1');
});
afterAll(() => server.close(100));

describe('request logs', () => {
  it('when a request is answered, then one line says method, path, status and time, with the request id and client address, and no header', async () => {
    lines = [];
    await fetch(`${server.url}/api/v1/nothing?x=1`, {
      headers: { authorization: 'Bearer secret-token', cookie: 'a=b', 'x-request-id': 'req-123' },
    });
    const line = await waitForLine();
    expect(line.msg).toMatch(/^GET \/api\/v1\/nothing\?x=1 404 \d+ ms$/);
    expect(line).toMatchObject({
      requestId: 'req-123',
      req: { method: 'GET', url: '/api/v1/nothing?x=1', remoteAddress: '127.0.0.1' },
      res: { statusCode: 404 },
    });
    expect(JSON.stringify(line)).not.toMatch(/headers|secret-token|a=b/);
  });

  it('when probes and scrapes arrive, with or without a query, then nothing is logged', async () => {
    lines = [];
    for (const path of ['/healthz', '/readyz', '/readyz?check=redis', '/metrics'])
      await fetch(`${server.url}${path}`);
    await fetch(`${server.url}/api/v1/marker`);
    const line = await waitForLine();
    expect(lines.map((l) => l.msg)).toEqual([line.msg]);
    expect(line.msg).toMatch(/^GET \/api\/v1\/marker 404/);
  });
});

async function waitForLine(): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(lines.length).toBeGreaterThan(0);
  return lines.at(-1)!;
}
