import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devSecret } from './dev-key.js';

describe('the development key', () => {
  it('when the development key is missing, then it is created once and read back after', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dev-key-')), 'nested', 'dev-jwt-secret');
    const created = devSecret(path);
    expect(created.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(path, 'utf8').trim()).toBe(created);
    expect(devSecret(path)).toBe(created);
  });

  it('when the development key is unreadable or damaged, then startup stops with its path and the key is not replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dev-key-'));
    const inTheWay = join(dir, 'a-directory');
    mkdirSync(inTheWay);
    expect(() => devSecret(inTheWay)).toThrow(/cannot read the development key/);
    const short = join(dir, 'short');
    writeFileSync(short, 'abc\n');
    expect(() => devSecret(short)).toThrow(/shorter than 32 characters/);
    expect(readFileSync(short, 'utf8')).toBe('abc\n');
  });
});
