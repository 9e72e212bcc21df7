import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { RedisClient } from '@suite/redis';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { z } from 'zod';
import { ActivityLimits, AppError, RATE_CLASSES, type RateClass } from '@suite/contracts';
import { env } from '@suite/config';

/** A reply deadline for a service's Redis connection that carries the budgets: a hung Redis costs a request this much at most. */
export const RATE_LIMIT_TIMEOUT_MS = 500;

/** Requests (or stream handshakes) one principal may make per class per window. */
export interface RatePolicy {
  points: number;
  windowS: number;
}

/**
 * The budgets per principal per minute. A person at a UI makes a few reads a second at most; a
 * search scans the directory, so a burst of 1,500 searches in a minute is refused after 300. The
 * ingest budget counts **events**, not requests (a batch of 500 takes 500), so batching cannot
 * multiply it; it must be at least the largest batch (500).
 */
export const rateLimitEnv = {
  RATE_LIMIT_ENABLED: env.bool(true),
  RATE_LIMIT_READ_PER_MIN: env.int(1200, 1, 100_000_000),
  RATE_LIMIT_SEARCH_PER_MIN: env.int(300, 1, 100_000_000),
  RATE_LIMIT_WRITE_PER_MIN: env.int(300, 1, 100_000_000),
  RATE_LIMIT_INGEST_PER_MIN: env.int(60_000, ActivityLimits.batchMaxItems, 100_000_000),
  RATE_LIMIT_STREAM_PER_MIN: env.int(60, 1, 100_000_000),
};
type RateLimitVariables = z.infer<z.ZodObject<typeof rateLimitEnv>>;

/** A service's limits from its config, counted on `redis` under its key prefix; undefined when disabled. */
export function rateLimitsFrom(
  cfg: RateLimitVariables & { REDIS_KEY_PREFIX: string },
  redis: RedisClient,
): RateLimits | undefined {
  if (!cfg.RATE_LIMIT_ENABLED) return undefined;
  const perMinute = (points: number): RatePolicy => ({ points, windowS: 60 });
  return new RateLimits(redis, cfg.REDIS_KEY_PREFIX, {
    read: perMinute(cfg.RATE_LIMIT_READ_PER_MIN),
    search: perMinute(cfg.RATE_LIMIT_SEARCH_PER_MIN),
    write: perMinute(cfg.RATE_LIMIT_WRITE_PER_MIN),
    ingest: perMinute(cfg.RATE_LIMIT_INGEST_PER_MIN),
    stream: perMinute(cfg.RATE_LIMIT_STREAM_PER_MIN),
  });
}

/** One request's outcome, with what the `RateLimit` headers advertise. */
export interface RateDecision {
  allowed: boolean;
  rateClass: RateClass;
  policy: RatePolicy;
  remaining: number;
  /** Seconds until the window resets (at least 1 while anything is consumed). */
  resetS: number;
}

/**
 * Takes up to ARGV[2] units of a fixed-window budget of ARGV[1] units (window ARGV[3] ms) in one
 * step: never more than is left, so the shared count never passes the budget. Returns the units
 * granted, the count after, and the ms left in the window.
 */
const TAKE_UP_TO = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[2]), math.max(0, tonumber(ARGV[1]) - used))
if grant > 0 then
  used = redis.call('INCRBY', KEYS[1], grant)
  if used == grant then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
end
local ttl = redis.call('PTTL', KEYS[1])
return { grant, used, ttl }
`;

/** Units a replica reserves at once from a budget of `points`: 2%, so a principal's requests reach Redis about once in 50. */
export function reservationOf(points: number): number {
  return Math.max(1, Math.floor(points / 50));
}

/** What this replica holds of one principal's budget in one window. */
interface Held {
  /** Units reserved in Redis and not spent yet. */
  left: number;
  /** The shared count after this replica's last reservation (its own unspent units included). */
  used: number;
  resetAtMs: number;
  /** Redis granted less than was asked: nothing more to reserve in this window. */
  spent: boolean;
}

type ScriptRedis = RedisClient & {
  rateLimitTake(
    key: string,
    points: string,
    want: string,
    windowMs: string,
  ): Promise<[number, number, number]>;
};

/**
 * Fixed-window budgets per principal and route class, shared by every replica through Redis, at
 * the cost of about one Redis round trip in 50 requests: a replica reserves a slice of the budget
 * (`reservationOf`, 2%) in one atomic step that never grants more than is left, and spends it
 * locally. The shared count therefore never passes the budget (no overshoot); what a replica
 * reserved and did not spend before the window ends is lost, so a principal may get up to
 * (slice − 1) × replicas fewer than the budget in a window. While Redis cannot be reached each
 * replica counts in memory instead (rate-limiter-flexible's memory limiter): requests are still
 * limited, per replica, and never fail because the store is down.
 */
export class RateLimits {
  private readonly redis: ScriptRedis;
  private readonly held = new Map<string, Held>();
  private readonly reserving = new Map<string, Promise<void>>();
  private readonly fallback = new Map<RateClass, RateLimiterMemory>();

  constructor(
    redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly policies: Record<RateClass, RatePolicy>,
  ) {
    redis.defineCommand('rateLimitTake', { numberOfKeys: 1, lua: TAKE_UP_TO });
    this.redis = redis as ScriptRedis;
    for (const rateClass of RATE_CLASSES) {
      const { points, windowS } = policies[rateClass];
      this.fallback.set(
        rateClass,
        new RateLimiterMemory({
          keyPrefix: `${keyPrefix}rl:${rateClass}`,
          points,
          duration: windowS,
        }),
      );
    }
  }

  /** Takes `units` (one by default) of `key`'s budget in `rateClass`. */
  async take(rateClass: RateClass, key: string, units = 1): Promise<RateDecision> {
    const policy = this.policies[rateClass];
    const id = `${this.keyPrefix}rl:${rateClass}:${key}`;
    for (;;) {
      const held = this.current(id);
      if (held && held.left >= units) {
        held.left -= units;
        return this.decision(rateClass, true, held);
      }
      // Redis granted less than asked this window: the budget is spent until it resets.
      if (held?.spent) return this.decision(rateClass, false, held);
      // One reservation per key at a time: requests that arrive meanwhile wait for it, then look again.
      const pending = this.reserving.get(id);
      if (pending) {
        await pending.catch(() => undefined);
        continue;
      }
      if (this.redis.status !== 'ready') return this.inMemory(rateClass, key, units);
      const reservation = this.reserve(id, policy, units, held);
      this.reserving.set(id, reservation);
      try {
        await reservation;
      } catch {
        return this.inMemory(rateClass, key, units);
      } finally {
        this.reserving.delete(id);
      }
    }
  }

  private sweeping: Iterator<[string, Held]> | undefined;

  /**
   * Drops what principals held in windows that have ended, a thousand entries per reservation at
   * most, going round the map: this replica's memory follows the principals active in the last
   * window (about 100 B each), not every principal ever seen, and no request pays for a whole scan
   * (at a million active principals a full scan would block the event loop for tens of ms).
   */
  private sweep(): void {
    const now = Date.now();
    this.sweeping ??= this.held.entries();
    for (let i = 0; i < 1000; i++) {
      const next = this.sweeping.next();
      if (next.done) {
        this.sweeping = undefined;
        return;
      }
      if (now >= next.value[1].resetAtMs) this.held.delete(next.value[0]);
    }
  }

  /** What this replica holds of `id` in the current window, if anything. */
  private current(id: string): Held | undefined {
    const held = this.held.get(id);
    if (held && Date.now() >= held.resetAtMs) {
      this.held.delete(id);
      return undefined;
    }
    return held;
  }

  /** Reserves from Redis what a request of `units` needs beyond what is held, plus a slice for the next ones. */
  private async reserve(
    id: string,
    policy: RatePolicy,
    units: number,
    held: Held | undefined,
  ): Promise<void> {
    const have = held?.left ?? 0;
    const want = Math.max(units - have, reservationOf(policy.points));
    const [granted, used, ttl] = await this.redis.rateLimitTake(
      id,
      String(policy.points),
      String(want),
      String(policy.windowS * 1000),
    );
    // A new window in Redis: what this replica held belonged to the old one.
    const carried = held && used - granted > 0 ? have : 0;
    this.held.set(id, {
      left: carried + granted,
      used,
      resetAtMs: Date.now() + Math.max(ttl, 1),
      spent: granted < want,
    });
    this.sweep();
  }

  private decision(rateClass: RateClass, allowed: boolean, held: Held): RateDecision {
    const policy = this.policies[rateClass];
    return {
      allowed,
      rateClass,
      policy,
      remaining: allowed ? Math.max(0, policy.points - held.used + held.left) : 0,
      resetS: Math.max(1, Math.ceil((held.resetAtMs - Date.now()) / 1000)),
    };
  }

  /** Redis unreachable: this replica's own count. */
  private async inMemory(rateClass: RateClass, key: string, units: number): Promise<RateDecision> {
    const policy = this.policies[rateClass];
    const decide = (res: RateLimiterRes, allowed: boolean): RateDecision => ({
      allowed,
      rateClass,
      policy,
      remaining: Math.max(0, res.remainingPoints),
      resetS: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    });
    try {
      return decide(await this.fallback.get(rateClass)!.consume(key, units), true);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return decide(rejection, false);
      throw rejection;
    }
  }
}

/** The IETF httpapi RateLimit headers (draft-ietf-httpapi-ratelimit-headers), plus Retry-After when refused. */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  const { rateClass, policy, remaining, resetS } = decision;
  return {
    'ratelimit-policy': `"${rateClass}";q=${policy.points};w=${policy.windowS}`,
    ratelimit: `"${rateClass}";r=${remaining};t=${resetS}`,
    ...(decision.allowed ? {} : { 'retry-after': String(resetS) }),
  };
}

/** The error a refused request gets (429 in the error shape). */
export function rateLimitedError(decision: RateDecision): AppError {
  const what =
    decision.rateClass === 'stream'
      ? 'stream handshakes'
      : decision.rateClass === 'ingest'
        ? 'events ingested'
        : `${decision.rateClass} requests`;
  return new AppError(
    'rate_limited',
    `too many ${what}: at most ${decision.policy.points} per ${decision.policy.windowS} s; retry in ${decision.resetS} s`,
    undefined,
    rateLimitHeaders(decision),
  );
}

/** Takes one unit of a principal's budget; throws the 429 when it is spent (for entry points outside Express, like a WebSocket upgrade). */
export async function takeOrRefuse(
  limits: RateLimits | undefined,
  rateClass: RateClass,
  subject: string,
): Promise<RateDecision | undefined> {
  if (!limits) return undefined;
  // Neither Redis nor the in-memory fallback answered: let the handshake through rather than fail it.
  const decision = await limits.take(rateClass, `p:${subject}`).catch(() => undefined);
  if (decision && !decision.allowed) throw rateLimitedError(decision);
  return decision;
}

/** Whose budget a request draws on: the token's subject, or the client address for public routes. */
function budgetKey(req: Request): string {
  // Set by @suite/auth's authenticate, which runs before the route's handlers.
  const principal = (req as Request & { principal?: { sub: string } }).principal;
  return principal ? `p:${principal.sub}` : `ip:${req.ip ?? 'unknown'}`;
}

/** Units a request takes: one per event for ingestion (a parsed batch is an array; anything else is one event), else one. */
function unitsOf(rateClass: RateClass, req: Request): number {
  if (rateClass !== 'ingest' || !Array.isArray(req.body)) return 1;
  return Math.min(Math.max(req.body.length, 1), ActivityLimits.batchMaxItems);
}

/**
 * Express middleware for one route class: advertises the budget on every answer, refuses with
 * 429 and Retry-After when it is spent. Reads the limits `createHttpApp` put in `app.locals`; a
 * service without them (RATE_LIMIT_ENABLED=false) is not limited.
 */
export function rateLimit(rateClass: RateClass): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const limits = req.app.locals.rateLimits as RateLimits | undefined;
    if (!limits) return next();
    limits.take(rateClass, budgetKey(req), unitsOf(rateClass, req)).then(
      (decision) => {
        if (!decision.allowed) return next(rateLimitedError(decision));
        res.set(rateLimitHeaders(decision));
        next();
      },
      (err: unknown) => {
        // Neither Redis nor the in-memory fallback answered: serve the request rather than fail it.
        req.log.warn({ err }, 'rate limit not checked');
        next();
      },
    );
  };
}
