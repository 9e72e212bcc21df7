import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { AppError, type ErrorCode } from '@suite/contracts';
import { upstreamFor, type Upstream } from './edge-routes.js';

function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify(new AppError(code, message).body(randomUUID())));
}

/**
 * The local one origin (`npm start`): the API and /demo, each path to the service the route table
 * names; anything else is 404 here. An upstream that is down is named in the 502, its error text
 * (addresses, errno) goes to `onUpstreamError` only.
 */
export function createEdge(
  ports: Record<Upstream, number>,
  onUpstreamError: (upstream: Upstream, err: Error) => void,
): Server {
  const proxy = createProxyServer({ xfwd: true, ws: true });
  proxy.on('error', (err, req, res) => {
    const upstream = upstreamFor(req.url ?? '/') ?? 'users';
    onUpstreamError(upstream, err);
    if (res && 'writeHead' in res && !res.headersSent)
      sendError(
        res,
        502,
        'unavailable',
        `the ${upstream} service is unavailable; try again shortly`,
      );
    else res?.destroy();
  });
  const target = (upstream: Upstream) => `http://127.0.0.1:${ports[upstream]}`;
  /**
   * The edge is the proxy the services trust: what a client wrote in forwarding headers is dropped,
   * and the proxy (xfwd) states the client's address, the edge's own scheme and the Host it received.
   */
  const forgetForwarding = (req: IncomingMessage) => {
    for (const name of Object.keys(req.headers))
      if (name.startsWith('x-forwarded-') || name === 'forwarded') delete req.headers[name];
  };
  const edge = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const upstream = upstreamFor(req.url ?? '/');
    if (!upstream) return sendError(res, 404, 'not_found', 'no such route');
    forgetForwarding(req);
    proxy.web(req, res, { target: target(upstream) });
  });
  edge.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const upstream = upstreamFor(req.url ?? '/');
    if (!upstream) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    forgetForwarding(req);
    proxy.ws(req, socket, head, { target: target(upstream) });
  });
  return edge;
}
