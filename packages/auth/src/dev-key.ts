import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { suiteCacheDir } from '@suite/config';

/** Where the local development signing secret lives (outside the repository). */
export function devSecretPath(env: Record<string, string | undefined>): string {
  return join(suiteCacheDir(env), 'dev-jwt-secret');
}

/**
 * The local development HS256 secret at `path`, created on first use; never committed. Only a
 * missing file creates one: any other read error (permissions, a directory in the way) stops here,
 * because a silently new key would invalidate every token already handed out.
 */
export function devSecret(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`cannot read the development key ${path}: ${(err as Error).message}`);
    mkdirSync(dirname(path), { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    // `wx`: two processes creating it at once cannot overwrite each other's key.
    try {
      writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
      return secret;
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
      text = readFileSync(path, 'utf8');
    }
  }
  const secret = text.trim();
  if (secret.length < 32)
    throw new Error(
      `the development key ${path} is shorter than 32 characters: delete it to create a new one`,
    );
  return secret;
}
