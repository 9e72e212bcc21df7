import { describe, expect, it } from 'vitest';
import { inSends } from './inbox-router.js';

/** A deterministic pseudo-random sequence (mulberry32), so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const bytesOf = (d: { key: string; value: string }) =>
  Buffer.byteLength(d.key) + Buffer.byteLength(d.value) + 32;

describe('inSends', () => {
  it('when deliveries of random sizes are cut, then the sends keep every delivery in order, each send is within the bound unless it is one delivery, and no send could have taken the next one', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const next = random(seed);
      const max = 200 + Math.floor(next() * 5000);
      const deliveries = Array.from({ length: Math.floor(next() * 300) }, (_, i) => ({
        key: String(i),
        // Some values are multi-byte, some larger than the bound by themselves.
        value: (next() < 0.3 ? 'é' : 'x').repeat(Math.floor(next() * next() * max * 1.5)),
      }));
      const sends = inSends(deliveries, max);
      expect(sends.flat(), `seed ${seed}`).toEqual(deliveries);
      sends.forEach((send, i) => {
        const bytes = send.reduce((n, d) => n + bytesOf(d), 0);
        expect(send.length, `seed ${seed}`).toBeGreaterThan(0);
        if (send.length > 1) expect(bytes, `seed ${seed}`).toBeLessThanOrEqual(max);
        const following = sends[i + 1]?.[0];
        if (following) expect(bytes + bytesOf(following), `seed ${seed}`).toBeGreaterThan(max);
      });
    }
  });
});
