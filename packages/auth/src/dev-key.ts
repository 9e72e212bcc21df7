import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Where the local development signing secret lives (outside the repository). */
export function devSecretPath(env: Record<string, string | undefined>): string {
  const base = env.SUITE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'activity-suite');
  return join(base, 'dev-jwt-secret');
}

/** The local development HS256 secret at `path`, created on first use; never committed. */
export function devSecret(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    mkdirSync(dirname(path), { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(path, `${secret}\n`, { mode: 0o600 });
    return secret;
  }
}
