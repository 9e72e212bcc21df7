import type { RedisClient } from '@suite/redis';
import {
  AppError,
  RevocationKeys,
  parseRevocationMessage,
  revocationMessage,
} from '@suite/contracts';
import type { Principal, TokenVerifier } from '@suite/auth';
import type { Logger } from '@suite/logger';

/** How often a replica compares the shared version with its own (catching a missed message). */
const RESYNC_MS = 1000;

/**
 * Adds or removes a user in the shared set, and announces it, only when that changes the set:
 * many replicas repeating the same change publish once.
 */
const SET_REVOKED = `
local changed = ARGV[2] == '1' and redis.call('SADD', KEYS[1], ARGV[1]) or redis.call('SREM', KEYS[1], ARGV[1])
if changed == 1 then
  redis.call('INCR', KEYS[2])
  redis.call('PUBLISH', ARGV[3], ARGV[4])
end
return changed
`;

/** Marks a user's tokens refused (`revoked`) or accepted again, for every service sharing `prefix`. */
export async function setRevoked(
  redis: RedisClient,
  prefix: string,
  userId: number,
  revoked: boolean,
): Promise<void> {
  await redis.eval(
    SET_REVOKED,
    2,
    RevocationKeys.users(prefix),
    RevocationKeys.version(prefix),
    String(userId),
    revoked ? '1' : '0',
    RevocationKeys.channel(prefix),
    revocationMessage(userId, revoked),
  );
}

/**
 * This replica's copy of the users whose tokens are refused: loaded at start, kept current by the
 * channel, and reloaded whenever the shared version moved without a message reaching us (pub/sub
 * is at most once). A token check is then a set lookup, with no round trip. While Redis is down the
 * last copy stands.
 */
export class RevocationList {
  private revoked = new Set<number>();
  private version: string | null = null;
  private timer?: NodeJS.Timeout;
  private readonly listeners: ((userId: number) => void)[] = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    // Subscribed on every (re)connection, the first included, whether or not Redis was up at start.
    subscriber.on(
      'ready',
      () => void subscriber.subscribe(RevocationKeys.channel(prefix)).catch(() => undefined),
    );
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== RevocationKeys.channel(prefix)) return;
      const change = parseRevocationMessage(text);
      if (change) this.apply(change.userId, change.revoked);
    });
  }

  /** True when this user's tokens are refused. */
  has(userId: number): boolean {
    return this.revoked.has(userId);
  }

  /** Calls `listener` whenever a user is revoked (to close their open streams). */
  onRevoked(listener: (userId: number) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    await Promise.all([this.redis.connect(), this.subscriber.connect()]).catch((err: unknown) =>
      this.logger.warn({ err }, 'revocations: redis not reachable yet; will retry'),
    );
    await this.resync();
    const tick = () => {
      this.timer = setTimeout(() => void this.resync().finally(tick), RESYNC_MS);
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.redis.disconnect();
    this.subscriber.disconnect();
  }

  private apply(userId: number, revoked: boolean): void {
    if (revoked === this.revoked.has(userId)) return;
    if (revoked) {
      this.revoked.add(userId);
      for (const listener of this.listeners) listener(userId);
    } else this.revoked.delete(userId);
  }

  private async resync(): Promise<void> {
    try {
      const version = await this.redis.get(RevocationKeys.version(this.prefix));
      if (version === this.version) return;
      const members = await this.redis.smembers(RevocationKeys.users(this.prefix));
      const next = new Set(members.map(Number));
      for (const id of next) if (!this.revoked.has(id)) this.apply(id, true);
      this.revoked = next;
      this.version = version;
    } catch (err) {
      this.logger.debug({ err }, 'revocations: resync failed; the last copy stands');
    }
  }
}

/** A verifier that also refuses the tokens of revoked users (401 `token_revoked`). */
export function refusingRevoked(
  verifier: TokenVerifier,
  revocations: RevocationList,
): TokenVerifier {
  return {
    async verify(token: string): Promise<Principal> {
      const principal = await verifier.verify(token);
      if (principal.userId !== null && revocations.has(principal.userId)) {
        throw new AppError(
          'token_revoked',
          `user ${principal.userId} was deactivated or deleted; their tokens are refused`,
        );
      }
      return principal;
    },
  };
}
