import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { env } from '@suite/config';

/**
 * A checked mark of origin for records on a topic only one service may write (`users.events`:
 * the users-service). Kafka ACLs keep other principals from writing there (docs/operations.md);
 * this mark is the consumer's own check, so a record from anyone without the key — a
 * misconfigured ACL, a shared credential, a test producer — changes nothing and is dead-lettered.
 *
 * Record headers: `suite-origin: <service>` and `suite-signature: kid=<key id>;sig=<base64url
 * HMAC-SHA256 over "<service>\n<value>">`. The key id (the first 8 hex digits of the key's
 * SHA-256) names which key signed, so keys can be rotated: the consumer accepts the current and
 * any previous key (keep a previous key while records it signed are still in the topic).
 */
export const OriginHeaders = { origin: 'suite-origin', signature: 'suite-signature' } as const;

/** The users.events origin key: the users-service signs with it, the activity-service checks with it. */
export const usersEventsOriginEnv = {
  USERS_EVENTS_SIGNING_KEY: z.string().min(32, 'must be at least 32 characters'),
};

/** For the checking side: keys that signed records still in the topic, accepted (never used to sign) after a rotation. */
export const usersEventsPreviousKeysEnv = {
  USERS_EVENTS_PREVIOUS_KEYS: env
    .list('')
    .pipe(z.array(z.string().min(32, 'each key must be at least 32 characters'))),
};

export const USERS_SERVICE_ORIGIN = 'users-service';

function keyId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

function mac(key: string, origin: string, value: Buffer | string): Buffer {
  return createHmac('sha256', key).update(`${origin}\n`).update(value).digest();
}

/** The headers that mark `value` as written by `origin`. */
export function signOrigin(
  origin: string,
  key: string,
  value: Buffer | string,
): Record<string, string> {
  return {
    [OriginHeaders.origin]: origin,
    [OriginHeaders.signature]: `kid=${keyId(key)};sig=${mac(key, origin, value).toString('base64url')}`,
  };
}

/** Why a record is not from `origin` (undefined when its mark checks out against one of `keys`). */
export function originProblem(
  origin: string,
  keys: string[],
  value: Buffer | null,
  headers: Record<string, string>,
): string | undefined {
  const claimed = headers[OriginHeaders.origin];
  const signature = headers[OriginHeaders.signature];
  if (claimed === undefined || signature === undefined)
    return 'no mark of origin (suite-origin and suite-signature headers)';
  if (claimed !== origin) return `origin "${claimed.slice(0, 64)}" may not write here`;
  const parsed = /^kid=([0-9a-f]{8});sig=([A-Za-z0-9_-]{43})$/.exec(signature);
  if (!parsed) return 'malformed suite-signature header';
  const key = keys.find((k) => keyId(k) === parsed[1]);
  if (!key) return `signed with key ${parsed[1]}, which is not configured`;
  const expected = mac(key, origin, value ?? Buffer.alloc(0));
  if (!timingSafeEqual(expected, Buffer.from(parsed[2]!, 'base64url')))
    return 'signature does not match the record';
  return undefined;
}

/** A local development key for the origin mark, derived from the development JWT secret (never for production). */
export function devOriginKey(devSecret: string): string {
  return createHmac('sha256', devSecret).update('users.events origin').digest('base64url');
}
