import { describe, expect, it } from 'vitest';
import { KeyedQueue } from './document-locks.js';

describe('KeyedQueue (the in-process gate of document locks)', () => {
  it('when work runs on one key, then it runs one at a time, in order, even when one fails', async () => {
    const log: string[] = [];
    const queue = new KeyedQueue();
    const step = (name: string, ms: number, fail = false) =>
      queue.run('k', async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
      });
    const results = await Promise.allSettled([step('a', 20), step('b', 5, true), step('c', 1)]);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('when work runs on different keys, then it runs concurrently', async () => {
    const log: string[] = [];
    const queue = new KeyedQueue();
    await Promise.all(
      ['x', 'y'].map((key) =>
        queue.run(key, async () => {
          log.push(`start ${key}`);
          await new Promise((r) => setTimeout(r, 10));
          log.push(`end ${key}`);
        }),
      ),
    );
    expect(log.slice(0, 2).sort()).toEqual(['start x', 'start y']);
  });
});
