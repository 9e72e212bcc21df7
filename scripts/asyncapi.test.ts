import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAsyncApi } from '@suite/contracts';

describe('AsyncAPI document', () => {
  it('docs/asyncapi.json is exactly what the contracts generate (run `npm run asyncapi` after changing them)', () => {
    const committed = JSON.parse(
      readFileSync(resolve(import.meta.dirname, '../docs/asyncapi.json'), 'utf8'),
    ) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildAsyncApi())));
  });

  it('describes both topics and every users.events type', () => {
    const doc = buildAsyncApi() as {
      asyncapi: string;
      channels: Record<string, { address: string; messages: Record<string, unknown> }>;
    };
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.channels.activityEvents!.address).toBe('activity.events');
    expect(Object.keys(doc.channels.usersEvents!.messages)).toHaveLength(6);
  });
});
