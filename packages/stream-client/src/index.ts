import {
  backoffMs,
  ApiRoutes,
  STREAM_SUBPROTOCOL,
  StreamCloseCodes,
  StreamMessage,
  apiPath,
  type Activity,
  type InboxCounts,
  type Notification,
  type StreamChannel,
} from '@suite/contracts';

export interface StreamClientOptions {
  /** Base URL of the API origin, e.g. `http://127.0.0.1:8080` (http/https or ws/wss). */
  baseUrl: string;
  userId: number;
  /** A token, or a function returning a fresh one before each (re)connect. */
  token: string | (() => string | Promise<string>);
  /** Resume after this cursor on the first connect. */
  cursor?: string;
  /** The channels to carry (default the activity channel alone); with `inbox`, one cursor resumes both. */
  channels?: StreamChannel[];
  /** Reconnect delays: exponential from `minDelayMs` to `maxDelayMs`, with full jitter. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A WebSocket implementation; defaults to the global one (browsers, Node 22+). */
  WebSocketImpl?: typeof WebSocket;
}

export interface StreamHandlers {
  activity?: (activity: Activity, cursor: string) => void;
  ready?: (cursor: string | null) => void;
  reset?: (reason: string) => void;
  /** A notification delivered to the inbox, with the counts right after it (the badge). */
  notification?: (notification: Notification, counts: InboxCounts) => void;
  /**
   * The inbox's state: on connect and resume (`gap`: entries missed are no longer retained, read the
   * list again), and after every mark from any device (`mark`).
   */
  inboxState?: (state: {
    counts: InboxCounts;
    inboxCursor: string;
    seenUpTo: string;
    readUpTo: string;
    mark?: { action: string; ids?: string[] };
    gap?: boolean;
  }) => void;
  /** Every close, with whether the client will reconnect. */
  close?: (code: number, reason: string, willReconnect: boolean) => void;
  error?: (message: string) => void;
}

/** Close codes after which reconnecting cannot help. */
const FINAL = new Set<number>([
  StreamCloseCodes.userDeleted,
  StreamCloseCodes.tokenRevoked,
  StreamCloseCodes.policyViolation,
]);

/** A live activity stream that reconnects with backoff and jitter and resumes from its last cursor. */
export class ActivityStreamClient {
  private socket: WebSocket | undefined;
  private attempt = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Where the stream stands (an opaque stream position: the last activity received, or where the
   * stream went live); sent on reconnect so nothing is missed or repeated.
   */
  cursor: string | undefined;

  constructor(
    private readonly options: StreamClientOptions,
    private readonly handlers: StreamHandlers = {},
  ) {
    this.cursor = options.cursor;
  }

  /** Opens the stream (and keeps it open until `close`). */
  start(): this {
    void this.connect();
    return this;
  }

  private async url(): Promise<string> {
    const base = new URL(this.options.baseUrl);
    base.protocol = base.protocol === 'https:' || base.protocol === 'wss:' ? 'wss:' : 'ws:';
    base.pathname = apiPath(ApiRoutes.activityStream, { id: this.options.userId });
    if (this.options.channels) base.searchParams.set('channels', this.options.channels.join(','));
    if (this.cursor) base.searchParams.set('cursor', this.cursor);
    return base.toString();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const token =
      typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    const Impl = this.options.WebSocketImpl ?? globalThis.WebSocket;
    // Browsers cannot set headers on a WebSocket: the token rides in a subprotocol.
    const socket = new Impl(await this.url(), [STREAM_SUBPROTOCOL, `bearer.${token}`]);
    this.socket = socket;
    socket.onmessage = (event) => {
      const parsed = StreamMessage.safeParse(JSON.parse(String(event.data)));
      if (!parsed.success) return;
      const message = parsed.data;
      if (message.type === 'activity') {
        this.cursor = message.cursor;
        this.handlers.activity?.(message.activity, message.cursor);
      } else if (message.type === 'ready') {
        this.attempt = 0;
        // The position the stream is live from: a reconnect resumes there even if no activity came since.
        if (message.cursor) this.cursor = message.cursor;
        this.handlers.ready?.(message.cursor);
      } else if (message.type === 'reset') {
        this.handlers.reset?.(message.reason);
      } else if (message.type === 'notification') {
        this.cursor = message.cursor;
        this.handlers.notification?.(message.notification, message.counts);
      } else if (message.type === 'inbox.state') {
        this.cursor = message.cursor;
        const { type: _type, channel: _channel, cursor: _cursor, ...state } = message;
        this.handlers.inboxState?.(state);
      } else {
        this.handlers.error?.(message.message);
      }
    };
    socket.onclose = (event) => {
      const willReconnect = !this.stopped && !FINAL.has(event.code);
      this.handlers.close?.(event.code, event.reason, willReconnect);
      if (willReconnect) this.schedule();
    };
  }

  private schedule(): void {
    const min = this.options.minDelayMs ?? 250;
    const max = this.options.maxDelayMs ?? 30_000;
    const delay = backoffMs(this.attempt + 1, min, max, true);
    this.attempt += 1;
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  /** Drops the connection and reconnects as after any other drop, resuming from `cursor`. */
  reconnect(): void {
    this.socket?.close(1000, 'client reconnects');
  }

  /** Closes the stream for good. */
  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close(1000, 'client closed');
  }
}
