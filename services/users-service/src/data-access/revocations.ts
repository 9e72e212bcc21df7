import type { RedisClient } from '@suite/redis';
import type { Logger } from '@suite/logger';
import { setRevoked } from '@suite/server-kit';

/** Tells every service that a user's tokens are now refused (`true`: deactivated or deleted) or accepted again. */
export type Revoke = (userId: number, revoked: boolean) => Promise<void>;

/**
 * The shared revocation set in Redis. A failure is logged, not thrown: the user's change is already
 * stored, and every replica's directory follower repeats the revocation when it hears of the change.
 */
export function revocationStore(redis: RedisClient, prefix: string, log: Logger): Revoke {
  return async (userId, revoked) => {
    await setRevoked(redis, prefix, userId, revoked).catch((err: unknown) =>
      log.warn(
        { err, userId, revoked },
        'could not record the revocation yet; the directory follower repeats it',
      ),
    );
  };
}
