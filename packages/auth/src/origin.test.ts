import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OriginHeaders, originProblem, signOrigin } from './origin.js';

const key = 'k'.repeat(32);
const previous = 'p'.repeat(32);

describe('the mark of origin', () => {
  it('when a mark of origin is checked, then it holds for exactly the signed value, origin and a configured key (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, at, flip) => {
          const value = Buffer.from(bytes);
          const headers = signOrigin('users-service', key, value);
          expect(originProblem('users-service', [key], value, headers)).toBeUndefined();
          expect(originProblem('users-service', [previous, key], value, headers)).toBeUndefined();
          expect(originProblem('users-service', [previous], value, headers)).toMatch(
            /not configured/,
          );
          expect(originProblem('activity-service', [key], value, headers)).toMatch(
            /may not write here/,
          );
          if (value.length > 0) {
            const tampered = Buffer.from(value);
            tampered[at % value.length] = tampered[at % value.length]! ^ flip;
            expect(originProblem('users-service', [key], tampered, headers)).toBe(
              'signature does not match the record',
            );
          }
        },
      ),
    );
  });

  it('when a mark of origin is missing or malformed, then the refusal names what is wrong', () => {
    const value = Buffer.from('{}');
    expect(originProblem('users-service', [key], value, {})).toMatch(/no mark of origin/);
    expect(
      originProblem('users-service', [key], value, {
        [OriginHeaders.origin]: 'users-service',
        [OriginHeaders.signature]: 'sig=abc',
      }),
    ).toBe('malformed suite-signature header');
    expect(
      originProblem('users-service', [key], null, signOrigin('users-service', key, '')),
    ).toBeUndefined();
  });
});
