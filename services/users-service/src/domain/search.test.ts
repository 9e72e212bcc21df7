import { describe, expect, it } from 'vitest';
import { normalise, prefixUpperBound, trigrams } from '../data-access/search-keys.js';
import { rankMatch } from './search.js';

describe('search helpers', () => {
  it('ranks exact before prefix before substring', () => {
    expect(rankMatch('ann', ['ann', 'x'])).toBe(0);
    expect(rankMatch('ann', ['anna', 'x'])).toBe(1);
    expect(rankMatch('ann', ['joanna', 'x'])).toBe(2);
    expect(rankMatch('ann', ['bob'])).toBeUndefined();
    expect(rankMatch('ann', ['joanna', 'ann'])).toBe(0);
  });

  it('treats regex metacharacters as plain text', () => {
    expect(rankMatch('a.*', ['abc'])).toBeUndefined();
    expect(rankMatch('a.*', ['xa.*y'])).toBe(2);
  });

  it('normalises case and compatibility forms', () => {
    expect(normalise('ÅNGSTRÖM')).toBe('ångström');
    expect(normalise('ｆｕｌｌ')).toBe('full');
  });

  it('makes distinct trigrams and prefix bounds', () => {
    expect(trigrams('anna')).toEqual(['ann', 'nna']);
    expect(trigrams('ab')).toEqual([]);
    expect('annabel' < prefixUpperBound('ann')).toBe(true);
    expect('ano' < prefixUpperBound('ann')).toBe(false);
  });
});
