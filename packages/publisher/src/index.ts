import { ActivityEvent, ActivityLimits, AppError, Topics, toErrorDetails } from '@suite/contracts';
import { context, propagation } from '@opentelemetry/api';
import {
  CompressionTypes,
  Kafka,
  logLevel,
  Partitioners,
  type Producer,
  type SASLOptions,
} from 'kafkajs';

export interface PublisherOptions {
  brokers: string[];
  clientId?: string;
  /** Prepended to `activity.events` (tests, multi-tenant clusters). */
  topicPrefix?: string;
  /** How long a publish may wait for others to share its produce request. */
  lingerMs?: number;
  /** Events per produce request at most. */
  maxBatch?: number;
  /** TLS to the brokers. */
  ssl?: boolean;
  /** SASL authentication (plain, scram-sha-256, scram-sha-512). */
  sasl?: SASLOptions;
  /**
   * How long a publish waits for Kafka's acknowledgement before it fails with `unavailable`
   * (default 5000 ms). The send goes on in the background: events may still arrive after the
   * failure, and a retry with the same ids is deduplicated by the consumer.
   */
  ackTimeoutMs?: number;
}

const DEFAULT_ACK_TIMEOUT_MS = 5000;

/** Rejects with `unavailable` when `work` has not settled within `ms`. */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no acknowledgement within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

interface Pending {
  key: string;
  value: string;
  headers: Record<string, string>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Publishes activity events: validated, keyed by user, idempotent, acks=all, batched. */
export class ActivityPublisher {
  private readonly producer: Producer;
  private readonly topic: string;
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private connected: Promise<void> | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(private readonly options: PublisherOptions) {
    const kafka = new Kafka({
      clientId: options.clientId ?? 'activity-publisher',
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl,
      logLevel: logLevel.NOTHING,
    });
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.topic = `${options.topicPrefix ?? ''}${Topics.activityEvents}`;
  }

  /** Connects eagerly (publish also connects on first use). */
  connect(): Promise<void> {
    this.connected ??= this.producer.connect().catch((err: unknown) => {
      this.connected = undefined;
      throw err;
    });
    return this.connected;
  }

  /** Validates every event, then resolves once Kafka acknowledged all of them (acks=all). */
  async publish(events: unknown | unknown[]): Promise<string[]> {
    const list = Array.isArray(events) ? events : [events];
    const valid = list.map((event, index) => {
      const result = ActivityEvent.safeParse(event);
      if (!result.success)
        throw new AppError(
          'validation_failed',
          `event ${index} is invalid`,
          toErrorDetails(result.error, `[${index}]`),
        );
      const value = JSON.stringify(result.data);
      if (Buffer.byteLength(value) > ActivityLimits.eventMaxBytes) {
        throw new AppError(
          'payload_too_large',
          `event ${index} is larger than ${ActivityLimits.eventMaxBytes} bytes`,
        );
      }
      return {
        key: result.data.subject,
        value,
        id: result.data.id,
        traceparent: result.data.traceparent,
      };
    });
    // W3C trace context goes in the `traceparent` header: the event's own (CloudEvents distributed
    // tracing extension), else the caller's active span when the process runs OpenTelemetry.
    const active: Record<string, string> = {};
    propagation.inject(context.active(), active);
    await Promise.all(
      valid
        .map(
          (e) =>
            new Promise<void>((resolve, reject) => {
              const traceparent = e.traceparent ?? active.traceparent;
              this.queue.push({
                key: e.key,
                value: e.value,
                headers: traceparent ? { traceparent } : {},
                resolve,
                reject,
              });
            }),
        )
        .concat(this.schedule()),
    );
    return valid.map((e) => e.id);
  }

  private schedule(): Promise<void> {
    if (this.queue.length >= (this.options.maxBatch ?? 500)) {
      clearTimeout(this.timer);
      this.timer = undefined;
      return this.flush();
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.lingerMs ?? 2);
    return Promise.resolve();
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const work = (async () => {
      try {
        const send = this.connect().then(() =>
          this.producer.send({
            topic: this.topic,
            acks: -1,
            compression: CompressionTypes.None,
            messages: batch.map((p) => ({ key: p.key, value: p.value, headers: p.headers })),
          }),
        );
        send.catch(() => undefined); // settled by `within` below; a late failure is not unhandled
        await within(send, this.options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS);
        for (const p of batch) p.resolve();
      } catch (err) {
        // The cause goes to the logs only; callers learn that the log is unavailable, not its internals.
        const failure = Object.assign(
          new AppError(
            'unavailable',
            'the event log (Kafka) did not acknowledge the events; retry later with the same ids',
          ),
          { cause: err },
        );
        for (const p of batch) p.reject(failure);
      }
    })();
    this.inFlight.add(work);
    await work.finally(() => this.inFlight.delete(work));
  }

  /** Sends what is queued, waits for acknowledgements, disconnects. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
    await Promise.all(this.inFlight);
    await this.producer.disconnect();
  }
}
