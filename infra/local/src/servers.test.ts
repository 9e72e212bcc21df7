import { describe, expect, it } from 'vitest';
import { kafkaClusterId } from './servers.js';

describe('kafkaClusterId', () => {
  it('when a cluster id is made, then it is 16 bytes of base64url that never starts with a dash (which the storage tool would take for an option)', () => {
    for (let i = 0; i < 5000; i++) {
      const id = kafkaClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });
});
