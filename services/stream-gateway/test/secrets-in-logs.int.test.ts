import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@suite/logger';
import { eventually, isolate, testInfra } from '@suite/testkit';
import {
  createGatewayService,
  loadGatewayConfig,
  type GatewayService,
} from '@suite/stream-gateway';
import type { RunningServer } from '@suite/server-kit';
import { openStream, refusedWith, secret, token } from './helpers.js';

/** Everything the gateway logs, at its most verbose level, as one string. */
let logged = '';
let service: GatewayService;
let server: RunningServer;

beforeAll(async () => {
  const infra = testInfra();
  const names = isolate('secrets-in-logs');
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString();
      done();
    },
  });
  const logger = createLogger({
    service: 'stream-gateway',
    version: 'test',
    level: 'trace',
    destination,
  });
  service = await createGatewayService(
    loadGatewayConfig({
      REDIS_URL: infra.redisUrl,
      REDIS_KEY_PREFIX: names.keyPrefix,
      JWT_SECRET: secret,
    }),
    logger,
  );
  await service.start();
  server = await service.listen(0, '127.0.0.1');
});
afterAll(() => service.stop());

describe('tokens in query strings', () => {
  it('when a token sits in a URL, encoded or not, then it is never written to the log, whatever the request ends in', async () => {
    const valid = await token('7');
    const forged = `${valid.slice(0, -4)}AAAA`;
    const path = `${server.url}/api/v1/users/7/activity-stream`;
    // An SSE stream that opens, one refused for a bad token, one for someone else's stream, one for a bad cursor.
    const controller = new AbortController();
    const sse = await fetch(`${path}?access_token=${valid}`, {
      headers: { accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(sse.status).toBe(200);
    expect(
      (await fetch(`${path}?access_token=${forged}`, { headers: { accept: 'text/event-stream' } }))
        .status,
    ).toBe(401);
    expect(
      (
        await fetch(`${server.url}/api/v1/users/8/activity-stream?access_token=${valid}`, {
          headers: { accept: 'text/event-stream' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await fetch(`${path}?cursor=!!&access_token=${valid}`, {
          headers: { accept: 'text/event-stream' },
        })
      ).status,
    ).toBe(400);
    // The same over WebSocket, in the query and as a subprotocol.
    const ws = await openStream(`${path.replace('http', 'ws')}?access_token=${valid}`);
    ws.ws.close();
    await ws.closed;
    expect(
      await refusedWith(
        openStream(path.replace('http', 'ws'), { protocols: [`bearer.${forged}`] }),
      ),
    ).toBe(401);
    expect(
      await refusedWith(openStream(`${path.replace('http', 'ws')}?access_token=${forged}`)),
    ).toBe(401);
    // Names the query parser decodes (so the stream opens) or that differ only in case, and repeats.
    const encoded = new AbortController();
    expect(
      (
        await fetch(`${path}?access%5Ftoken=${valid}`, {
          headers: { accept: 'text/event-stream' },
          signal: encoded.signal,
        })
      ).status,
    ).toBe(200);
    encoded.abort();
    for (const query of [
      `ACCESS_TOKEN=${valid}`,
      `Access%5FToken=${forged}`,
      `access_token=${forged}&access_token=${valid}`,
      `access%5ftoken=${forged}&x=1`,
    ]) {
      await fetch(`${path}?${query}`, { headers: { accept: 'text/event-stream' } }).then((r) =>
        r.body?.cancel(),
      );
    }
    controller.abort();
    // The aborted SSE stream is logged when it closes.
    await eventually(
      async () =>
        /"statusCode":200[^\n]*"msg":"GET \/api\/v1\/users\/7\/activity-stream\?access_token=\[redacted\] 200 \d+ ms \(aborted\)"/.test(
          logged,
        )
          ? true
          : undefined,
      5000,
      20,
    );

    // The requests were logged (so the check below can fail), without the tokens.
    expect(logged).toContain('activity-stream');
    expect(logged).toContain('[redacted]');
    for (const secretText of [valid, forged, valid.split('.')[2]!, forged.split('.')[2]!])
      expect(logged).not.toContain(secretText);
  });
});
