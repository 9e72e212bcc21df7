import { mkdirSync } from 'node:fs';
import { suiteCacheDir } from '@suite/config';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Downloads and builds, reused across clones: `$SUITE_CACHE_DIR` or `~/.cache/activity-suite`. */
export const cacheDir = suiteCacheDir(process.env);

/** Server data, pid files and logs: `$SUITE_STATE_DIR` or `<cache>/run`. */
export const stateDir = process.env.SUITE_STATE_DIR ?? join(cacheDir, 'run');

export const logDir = join(stateDir, 'logs');

/** This package's folder (for the Kafka pom). */
export const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
