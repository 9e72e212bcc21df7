/**
 * Where the services share which users' tokens are refused (deleted or deactivated users). The
 * set and its version sit in one hash slot (`{revoked}`), so one script updates both on a Redis
 * Cluster too; the channel announces each change as `+<userId>` or `-<userId>`.
 */
export const RevocationKeys = {
  /** Set of user ids whose tokens every service refuses. */
  users: (prefix: string) => `${prefix}{revoked}:users`,
  /** Counter raised on every change: a replica that missed a message sees it moved and reloads the set. */
  version: (prefix: string) => `${prefix}{revoked}:version`,
  /** Pub/sub channel of changes. */
  channel: (prefix: string) => `${prefix}revoked`,
} as const;

/** A change on the revocation channel: the user, and whether their tokens are now refused. */
export function revocationMessage(userId: number, revoked: boolean): string {
  return `${revoked ? '+' : '-'}${userId}`;
}

/** Reads a revocation channel message; undefined when it is not one. */
export function parseRevocationMessage(
  text: string,
): { userId: number; revoked: boolean } | undefined {
  const match = /^([+-])(\d{1,15})$/.exec(text);
  return match ? { userId: Number(match[2]), revoked: match[1] === '+' } : undefined;
}
