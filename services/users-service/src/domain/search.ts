/** Search without regular expressions: how matches rank (the stored keys are in data-access/search-keys.ts). */

export const MIN_SUBSTRING_LENGTH = 3;

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
