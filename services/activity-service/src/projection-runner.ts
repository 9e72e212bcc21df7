import type { Kafka } from 'kafkajs';
import { backoffMs } from '@suite/contracts';
import type { Logger } from '@suite/logger';
import { NotReady, type ReadinessCheck } from '@suite/server-kit';
import type { ActivityConfig } from './config.js';
import { topicsOnProducerTime } from './data-access/kafka.js';
import { LayoutMismatchError } from './data-access/projection.state.js';
import type { ProjectionPipeline } from './projection-pipeline.js';

/** How often the projections' condition is checked (and idle partitions are healed). */
const KEEPER_INTERVAL_MS = 500;

/**
 * The projection pipeline's life in the service: the keeper's periodic check, the consumer (which
 * routes inbox deliveries too) joining its group (retried with backoff while Kafka or Redis is
 * unreachable), what readiness and liveness say about them, and the order they stop in.
 */
export class ProjectionRunner {
  private consumerRunning = false;
  private stopping = false;
  private keeperTimer: NodeJS.Timeout | undefined;
  private keeperFailing = false;
  /** Why the consumer will not run at all (topics on producer time); the pod restarts until an operator acts. */
  private refused: string | undefined;

  constructor(
    private readonly config: ActivityConfig,
    private readonly pipeline: ProjectionPipeline,
    private readonly kafka: Kafka,
    private readonly log: Logger,
  ) {
    if (config.CONSUMER_ENABLED) pipeline.keeper.attach(pipeline.consumer);
  }

  /** Why reads cannot be answered now (the projections are being rebuilt, lost, or in another layout). */
  unavailable(): string | undefined {
    const condition = this.pipeline.keeper.condition;
    if (!condition || condition.state === 'ready') return undefined;
    if (condition.state === 'rebuilding')
      return `the projections are being rebuilt from the log (${condition.remaining} records to go)`;
    if (condition.state === 'lost')
      return 'the projections are gone from Redis; they are being rebuilt from the log';
    return new LayoutMismatchError(condition.found).message;
  }

  /** Why the process should be restarted: a consumer kafkajs gave up on never comes back by itself. */
  liveness(): string | undefined {
    if (this.refused) return this.refused;
    return this.config.CONSUMER_ENABLED && this.consumerRunning && !this.pipeline.consumer.healthy()
      ? 'the projection consumer stopped after a fatal error'
      : undefined;
  }

  /** Readiness: the projections whole, and (when it runs here) the consumer in its group. */
  checks(): Record<string, ReadinessCheck> {
    const projections = async () => {
      if (!this.pipeline.keeper.condition)
        throw new NotReady('the projections have not been checked yet');
      const problem = this.unavailable();
      if (problem) throw new NotReady(problem);
    };
    const consumer = async () => {
      if (this.refused) throw new NotReady(this.refused);
      if (!this.consumerRunning)
        throw new NotReady('the projection consumer has not joined its group yet');
      if (!this.pipeline.consumer.healthy())
        throw new NotReady('the projection consumer stopped after a fatal error');
    };
    return this.config.CONSUMER_ENABLED ? { projections, consumer } : { projections };
  }

  /** The first check, then one every interval; the consumer joins in the background. */
  async start(): Promise<void> {
    await this.keep();
    this.scheduleKeeper();
    if (this.config.CONSUMER_ENABLED) void this.startConsumer();
  }

  /** Draining has begun: nothing starts or retries any more. */
  stopStarting(): void {
    this.stopping = true;
  }

  /** After the HTTP drain: the keeper stops, the consumer finishes its batch (and its routing) and leaves. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.keeperTimer);
    if (this.config.CONSUMER_ENABLED) await this.pipeline.consumer.stop();
  }

  /** One check of the projections' condition; a failure (Redis or Kafka down) is logged once per outage. */
  private async keep(): Promise<void> {
    try {
      await this.pipeline.keeper.tick(this.config.CONSUMER_ENABLED && this.consumerRunning);
      if (this.keeperFailing) this.log.info('projection check recovered');
      this.keeperFailing = false;
    } catch (err) {
      if (!this.keeperFailing) this.log.warn({ err }, 'projection check failed; retrying');
      this.keeperFailing = true;
    }
  }

  private scheduleKeeper(): void {
    this.keeperTimer = setTimeout(
      () => void this.keep().finally(() => this.stopping || this.scheduleKeeper()),
      KEEPER_INTERVAL_MS,
    );
  }

  /** Joins the group, retrying with backoff while Kafka or Redis is unreachable (readiness says so meanwhile). */
  private async startConsumer(attempt = 1): Promise<void> {
    try {
      // Claims an empty prefix (the consumer then builds the projections from the log) before joining.
      await this.pipeline.keeper.tick(true);
      // Not retried: applying this version's writes to another layout would corrupt it; readiness says why.
      if (this.pipeline.keeper.condition?.state === 'foreign') return;
      const onProducerTime = this.config.KAFKA_ALLOW_CREATE_TIME
        ? []
        : await topicsOnProducerTime(this.kafka, this.pipeline.topics);
      if (onProducerTime.length > 0) {
        this.refused = `topics ${onProducerTime.join(', ')} use the producer's clock (message.timestamp.type=CreateTime): set them to LogAppendTime, or accept that publishers' clocks move the time and dedup windows with KAFKA_ALLOW_CREATE_TIME=true`;
        this.log.error({ topics: onProducerTime }, this.refused);
        return;
      }
      await this.pipeline.consumer.start(this.pipeline.projector);
      this.consumerRunning = true;
    } catch (err) {
      if (this.stopping) return;
      this.log.warn({ err, attempt }, 'projection consumer could not start; retrying');
      await new Promise((r) => setTimeout(r, backoffMs(attempt, 500, 15_000)));
      if (!this.stopping) return this.startConsumer(attempt + 1);
    }
  }
}
