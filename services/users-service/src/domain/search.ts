/** Search without regular expressions: normalised fields, prefix ranges and trigram keys. */

export const MIN_SUBSTRING_LENGTH = 3;

/** Lower-cases and NFKC-normalises a search field or query. */
export function normalise(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Distinct trigrams of a normalised string (empty when shorter than three characters). */
export function trigrams(text: string): string[] {
  const grams = new Set<string>();
  const chars = Array.from(text);
  for (let i = 0; i + 3 <= chars.length; i++) grams.add(chars.slice(i, i + 3).join(''));
  return [...grams];
}

/** The upper bound of a prefix range: every string starting with `prefix` sorts below it. */
export function prefixUpperBound(prefix: string): string {
  return `${prefix}\uffff`;
}

export type MatchRank = 0 | 1 | 2;

/** 0 exact, 1 prefix, 2 substring; undefined when no field contains the query. */
export function rankMatch(query: string, fields: string[]): MatchRank | undefined {
  let best: MatchRank | undefined;
  for (const field of fields) {
    let rank: MatchRank | undefined;
    if (field === query) rank = 0;
    else if (field.startsWith(query)) rank = 1;
    else if (field.includes(query)) rank = 2;
    if (rank !== undefined && (best === undefined || rank < best)) best = rank;
  }
  return best;
}
