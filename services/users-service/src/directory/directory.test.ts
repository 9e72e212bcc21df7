import { describe, expect, it } from 'vitest';
import { normalise, trigrams } from '../data-access/search-keys.js';
import { rankMatch } from './directory.js';

describe('search keys', () => {
  it('when search keys are made, then regex metacharacters are plain text and case, compatibility forms and NUL are normalised', () => {
    expect(rankMatch('a.*', ['abc'])).toBeUndefined();
    expect(rankMatch('a.*', ['xa.*y'])).toBe(2);
    expect(rankMatch('ab', ['ab', 'abc'])).toBe(0);
    expect(rankMatch('ab', ['xab', 'abc'])).toBe(1);
    expect(normalise('ÅNGSTRÖM')).toBe('ångström');
    expect(normalise('ｆｕｌｌ')).toBe('full');
    // The directory separates the parts of its index entries with NUL.
    expect(normalise('a\u0000b')).toBe('a\uFFFDb');
    expect(trigrams('anna')).toEqual(['ann', 'nna']);
    expect(trigrams('an')).toEqual([]);
  });
});
