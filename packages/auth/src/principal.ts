/** Who is calling: a user (integer `sub`) or a service (scopes, non-numeric `sub`). */
export interface Principal {
  kind: 'user' | 'service';
  sub: string;
  /** Set for user tokens. */
  userId: number | null;
  roles: string[];
  scopes: string[];
  /** Token expiry, epoch seconds. */
  expiresAt: number;
}

export function isAdmin(p: Principal): boolean {
  return p.roles.includes('admin');
}

/** True when the principal may act as the given user: the user themself or an admin. */
export function canActAs(p: Principal, userId: number): boolean {
  return isAdmin(p) || (p.kind === 'user' && p.userId === userId);
}
