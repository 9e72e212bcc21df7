import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEdge } from './edge.js';
import { upstreamFor, type Upstream } from './edge-routes.js';

describe('edge routing', () => {
  it('sends each public path to the service DESIGN.md names', () => {
    expect(upstreamFor('/api/v1/users?page=2')).toBe('users');
    expect(upstreamFor('/api/v1/users/42')).toBe('users');
    expect(upstreamFor('/api/v1/users/42/workspaces')).toBe('users');
    expect(upstreamFor('/api/v1/workspaces/3/permissions')).toBe('users');
    expect(upstreamFor('/api/v1/users/42/activities?limit=5')).toBe('activity');
    expect(upstreamFor('/api/v1/users/42/activity-count')).toBe('activity');
    expect(upstreamFor('/api/v1/users/42/active-workspaces?days=7')).toBe('activity');
    expect(upstreamFor('/api/v1/activities')).toBe('activity');
    expect(upstreamFor('/api/v1/users/42/activity-stream?cursor=abc')).toBe('gateway');
    expect(upstreamFor('/demo')).toBe('gateway');
    expect(upstreamFor('/api/v1/no-such-thing')).toBe('users');
  });

  it('exposes nothing but the API and /demo', () => {
    for (const path of [
      '/metrics',
      '/readyz',
      '/healthz?x',
      '/',
      '/api',
      '/api/v10/users',
      '/api/v1metrics',
      '/demonstration',
      '//metrics',
    ]) {
      expect(upstreamFor(path), path).toBeUndefined();
    }
  });
});

describe('the local edge', () => {
  const seen: { upstream: Upstream; url: string }[] = [];
  const upstreams: Server[] = [];
  let edge: Server;
  let base: string;

  beforeAll(async () => {
    const listening = async (upstream: Upstream) => {
      const server = createServer((req, res) => {
        seen.push({ upstream, url: req.url ?? '' });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
      upstreams.push(server);
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      return (server.address() as AddressInfo).port;
    };
    // The activity-service is "down": a port nothing listens on.
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    edge = createEdge(
      { users: await listening('users'), gateway: await listening('gateway'), activity: deadPort },
      () => undefined,
    );
    await new Promise<void>((ok) => edge.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(edge.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const server of [edge, ...upstreams]) await new Promise((ok) => server.close(ok));
  });

  it('answers 404 in the error shape for the services’ ops endpoints, without forwarding them', async () => {
    for (const path of ['/metrics', '/readyz', '/']) {
      const res = await fetch(`${base}${path}`);
      const body = (await res.json()) as { error: { code: string } };
      expect(res.status, path).toBe(404);
      expect(body.error.code).toBe('not_found');
    }
    expect(seen).toEqual([]);
    expect((await fetch(`${base}/api/v1/users`)).status).toBe(200);
    expect((await fetch(`${base}/demo`)).status).toBe(200);
    expect(seen.map((s) => s.upstream)).toContain('gateway');
  });

  it('names the service that is down in its 502, never the error text', async () => {
    const res = await fetch(`${base}/api/v1/users/1/activity-count`);
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({
      error: { code: 'unavailable', message: expect.stringContaining('activity') },
    });
    expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|connect/);
  });
});
