import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devSecret } from './dev-key.js';

describe('the development key', () => {
  it('is created once when missing and read back after', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dev-key-')), 'nested', 'dev-jwt-secret');
    const created = devSecret(path);
    expect(created.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(path, 'utf8').trim()).toBe(created);
    expect(devSecret(path)).toBe(created);
  });

  it('is never silently replaced: an unreadable or damaged key stops with its path', () => {
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
