import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { activityConfigShape } from '@suite/activity-service';
import { gatewayConfigShape } from '@suite/stream-gateway';
import { usersConfigShape } from '@suite/users-service';

const root = resolve(import.meta.dirname, '..');
const listed = (file: string) =>
  new Set(
    [...readFileSync(resolve(root, file), 'utf8').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map(
      (m) => m[1]!,
    ),
  );

describe('.env.example and README', () => {
  it('list every variable a service reads', () => {
    const example = listed('.env.example');
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    for (const shape of [usersConfigShape, activityConfigShape, gatewayConfigShape]) {
      for (const key of Object.keys(shape)) {
        expect([...example], `.env.example lacks ${key}`).toContain(key);
        expect(readme, `README lacks ${key}`).toContain(`\`${key}\``);
      }
    }
  });
});
