import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

/** A listening HTTP server that can drain: stop accepting, finish in-flight requests, then close. */
export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(graceMs: number): Promise<void>;
}

export async function listen(
  handler: RequestListener,
  port: number,
  host: string,
): Promise<RunningServer> {
  let draining = false;
  const server = createServer((req, res) => {
    // While draining, each kept-alive connection closes after its current response, so clients
    // move to another replica instead of sending more requests to this one.
    if (draining) res.shouldKeepAlive = false;
    handler(req, res);
  });
  // Keep-alive longer than typical proxies' idle timeout so they close first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    close(graceMs) {
      draining = true;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
