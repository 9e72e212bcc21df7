import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
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
export function rateLimitsFrom(cfg: RateLimitVariables & { REDIS_KEY_PREFIX: string }, redis: Redis): RateLimits | undefined {
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
 * Fixed-window budgets per principal and route class, counted in Redis (rate-limiter-flexible's
 * atomic INCR+PEXPIRE script), so every replica draws on the same budget. While Redis cannot be
 * reached each replica counts in memory instead (the library's insurance limiter): requests are
 * still limited, per replica, and never fail because the limiter's store is down.
 */
export class RateLimits {
  private readonly limiters = new Map<RateClass, RateLimiterRedis>();

  constructor(
    redis: Redis,
    keyPrefix: string,
    private readonly policies: Record<RateClass, RatePolicy>,
  ) {
    for (const rateClass of RATE_CLASSES) {
      const { points, windowS } = policies[rateClass];
      const keys = `${keyPrefix}rl:${rateClass}`;
      this.limiters.set(
        rateClass,
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: keys,
          points,
          duration: windowS,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory({ keyPrefix: keys, points, duration: windowS }),
        }),
      );
    }
  }

  /** Takes `units` (one by default) of `key`'s budget in `rateClass`. */
  async take(rateClass: RateClass, key: string, units = 1): Promise<RateDecision> {
    const policy = this.policies[rateClass];
    const decide = (res: RateLimiterRes, allowed: boolean): RateDecision => ({
      allowed,
      rateClass,
      policy,
      remaining: Math.max(0, res.remainingPoints),
      resetS: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    });
    try {
      return decide(await this.limiters.get(rateClass)!.consume(key, units), true);
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
  const what = decision.rateClass === 'stream' ? 'stream handshakes' : decision.rateClass === 'ingest' ? 'events ingested' : `${decision.rateClass} requests`;
  return new AppError('rate_limited', `too many ${what}: at most ${decision.policy.points} per ${decision.policy.windowS} s; retry in ${decision.resetS} s`, undefined, rateLimitHeaders(decision));
}

/** Takes one unit of a principal's budget; throws the 429 when it is spent (for entry points outside Express, like a WebSocket upgrade). */
export async function takeOrRefuse(limits: RateLimits | undefined, rateClass: RateClass, subject: string): Promise<RateDecision | undefined> {
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
