import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppError, STREAM_SUBPROTOCOL, StreamCloseCodes } from '@suite/contracts';
import type { TokenVerifier } from '@suite/auth';
import type { Logger } from '@suite/logger';
import { authoriseStream, msUntilExpiry, type HandshakeOptions } from './handshake.js';
import type { Hub } from '../domain/hub.js';
import type { LiveMessage } from '../domain/live-message.js';
import type { ProjectionReader } from '@suite/projection-reader';
import { StreamSession, channelOptions, type Transport } from '../domain/stream-session.js';
import type { StreamMetrics } from '../stream.metrics.js';

export interface WsGatewayOptions extends HandshakeOptions {
  highWaterMark: number;
  heartbeatMs: number;
  maxPayload: number;
}

/** Answers a refused upgrade as plain HTTP (never accept-then-close). */
function refuse(socket: Duplex, err: unknown, logger: Logger): void {
  const appError =
    err instanceof AppError ? err : new AppError('internal', 'internal server error');
  if (!(err instanceof AppError)) logger.error({ err }, 'upgrade failed');
  const json = JSON.stringify(appError.body(randomUUID()));
  const extra = Object.entries(appError.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${appError.status} ${STATUS_CODES[appError.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n${extra}Connection: close\r\n\r\n${json}`,
  );
}

/** Sockets corked during this tick; one nextTick uncorks them all (no closure per socket). */
const corked: Writable[] = [];
function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

/**
 * The heartbeat pings one slice of the sockets per tick, every interval / HEARTBEAT_SLICES, so
 * each socket is still pinged once per interval but 10k sockets never get their ping frames in
 * one tick (measured: that burst stalled deliveries for 250-400 ms at 10k connections).
 */
const HEARTBEAT_SLICES = 16;

/** WebSocket transport: pre-framed messages written straight to the socket, coalesced per tick. */
class WsTransport implements Transport {
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Writable,
  ) {}

  send(message: LiveMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.socket.writableCorked === 0) {
      if (corked.length === 0) process.nextTick(uncorkAll);
      this.socket.cork();
      corked.push(this.socket);
    }
    this.socket.write(message.wsFrame());
  }

  bufferedBytes(): number {
    return this.socket.writableLength;
  }

  close(code: number, reason: string): void {
    if (code === StreamCloseCodes.slowConsumer) {
      // Its buffer is full: a close frame would wait behind it. Cut the connection now.
      this.ws.terminate();
      return;
    }
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }
}

/** Attaches the stream's WebSocket endpoint to an HTTP server. */
export class WsGateway {
  private readonly wss: WebSocketServer;
  /** Every open socket, dealt round-robin into heartbeat slices. */
  private readonly slices = Array.from({ length: HEARTBEAT_SLICES }, () => new Set<WebSocket>());
  private dealt = 0;
  private beating = 0;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly hub: Hub,
    private readonly reader: ProjectionReader,
    private readonly options: WsGatewayOptions,
    private readonly logger: Logger,
    private readonly metrics: StreamMetrics,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayload,
      perMessageDeflate: false,
      handleProtocols: (protocols) =>
        protocols.has(STREAM_SUBPROTOCOL) ? STREAM_SUBPROTOCOL : false,
    });
  }

  attach(server: Server): void {
    server.on(
      'upgrade',
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head),
    );
    this.heartbeat = setInterval(
      () => this.beat(),
      Math.max(1, Math.round(this.options.heartbeatMs / HEARTBEAT_SLICES)),
    );
    this.heartbeat.unref();
  }

  private alive = new WeakMap<WebSocket, boolean>();

  /** Pings the next slice; a socket that has not answered the previous ping is cut off. */
  private beat(): void {
    const slice = this.slices[this.beating]!;
    this.beating = (this.beating + 1) % HEARTBEAT_SLICES;
    for (const ws of slice) {
      if (this.alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      ws.ping();
    }
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    let auth;
    try {
      auth = await authoriseStream(req, this.verifier, this.hub, this.options);
    } catch (err) {
      this.metrics.rejected.inc({ status: String(err instanceof AppError ? err.status : 500) });
      refuse(socket, err, this.logger);
      return;
    }
    // The seat is held until the connection closes, whether or not the upgrade completes.
    if (socket.destroyed) return auth.release();
    socket.once('close', auth.release);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const slice = this.slices[this.dealt++ % HEARTBEAT_SLICES]!;
      slice.add(ws);
      this.alive.set(ws, true);
      this.metrics.connections.inc({ transport: 'websocket' });
      const session = new StreamSession(
        auth.userId,
        new WsTransport(ws, socket as Writable),
        this.hub,
        this.reader,
        {
          holder: auth.principal.userId,
          highWaterMark: this.options.highWaterMark,
          onSlowClient: () => this.metrics.slowClients.inc({ transport: 'websocket' }),
          ...channelOptions(auth),
        },
      );
      const expiry = setTimeout(
        () => session.close(StreamCloseCodes.tokenExpired, 'token expired'),
        msUntilExpiry(auth.principal),
      );
      ws.on('pong', () => this.alive.set(ws, true));
      ws.on('message', () => undefined);
      ws.on('close', () => {
        clearTimeout(expiry);
        session.detach();
        slice.delete(ws);
        this.metrics.connections.dec({ transport: 'websocket' });
      });
      ws.on('error', (err) => this.logger.debug({ err }, 'websocket error'));
      session.open(auth.cursor).catch((err: unknown) => {
        this.logger.error({ err }, 'stream could not open');
        session.close(StreamCloseCodes.serverError, 'stream could not open');
      });
    });
  }

  private *sockets(): Generator<WebSocket> {
    for (const slice of this.slices) yield* slice;
  }

  /** Closes every socket with 1001 (going away). */
  async closeAll(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const ws of this.sockets()) ws.close(StreamCloseCodes.goingAway, 'server shutting down');
    const deadline = Date.now() + 2000;
    while (this.slices.some((slice) => slice.size > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    for (const ws of this.sockets()) ws.terminate();
    this.wss.close();
  }
}
