import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@suite/logger';
import { createHttpApp } from './app.js';
import { createMetrics } from './metrics.js';
import { NotReady, Readiness } from './readiness.js';
import { listen, type RunningServer } from './server.js';
import { Router } from 'express';
import { trustProxySetting } from './service.js';

let fatal: string | undefined;
let kafkaUp = true;
let server: RunningServer;

beforeAll(async () => {
  const readiness = new Readiness({
    redis: async () => undefined,
    kafka: async () => {
      if (!kafkaUp) throw new NotReady('kafka is down');
    },
  });
  const app = createHttpApp({
    logger: createLogger({ service: 't', version: '0', level: 'silent' }),
    metrics: createMetrics('t'),
    readiness,
    api: [],
    routes: [],
    bodyLimit: '1kb',
    trustProxy: false,
    liveness: () => fatal,
  });
  server = await listen(app, 0, '127.0.0.1');
});
afterAll(() => server.close(100));

const get = async (path: string) => {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('health endpoints', () => {
  it('when readiness is scoped by ?check=, then it ignores the checks it was not asked for and names an unknown one', async () => {
    kafkaUp = false;
    expect((await get('/readyz')).status).toBe(503);
    const reads = await get('/readyz?check=redis');
    expect(reads).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { redis: { ok: true } } },
    });
    expect(Object.keys(reads.body.checks as object)).toEqual(['redis']);
    expect((await get('/readyz?check=redis,kafka')).status).toBe(503);
    expect(await get('/readyz?check=redis,nope')).toMatchObject({
      status: 400,
      body: { unknown: ['nope'] },
    });
    kafkaUp = true;
    expect((await get('/readyz')).status).toBe(200);
  });

  it('when the service reports a fatal state, then liveness fails with the reason', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    fatal = 'the consumer stopped after a fatal error';
    expect(await get('/healthz')).toEqual({
      status: 503,
      body: { status: 'failing', reason: fatal },
    });
    fatal = undefined;
  });
});

describe('TRUST_PROXY', () => {
  it("when TRUST_PROXY is a number n, then n proxies in front are believed: with 1, a forged X-Forwarded-For entry before the proxy's own is ignored", async () => {
    const echo = Router().get('/ip', (req, res) => {
      res.json({ ip: req.ip });
    });
    const app = createHttpApp({
      logger: createLogger({ service: 't', version: '0', level: 'silent' }),
      metrics: createMetrics('t2'),
      readiness: new Readiness({}),
      api: [],
      root: [echo],
      routes: [],
      bodyLimit: '1kb',
      trustProxy: trustProxySetting('1'),
    });
    const one = await listen(app, 0, '127.0.0.1');
    try {
      const res = await fetch(`${one.url}/ip`, {
        headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' },
      });
      expect(await res.json()).toEqual({ ip: '203.0.113.7' });
    } finally {
      await one.close(100);
    }
    expect(trustProxySetting('loopback')).toBe('loopback');
    expect(trustProxySetting('10.0.0.0/8')).toBe('10.0.0.0/8');
  });
});
