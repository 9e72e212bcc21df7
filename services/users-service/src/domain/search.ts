import type { User } from '@suite/contracts';
import type { UserDoc, UsersRepository } from '../data-access/users.repository.js';
import { normalise, trigrams } from '../data-access/search-keys.js';
import { toUser } from './user-views.js';

/** Search without regular expressions: which stages find candidates and how matches rank (the stored keys are in data-access/search-keys.ts). */

/** Search never considers more than this many candidates per stage; documented in docs/users-service.md. */
export const SEARCH_RESULT_CAP = 1000;

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

/** A page of the users matching `q`, best first: exact, then prefix, then substring; then by username and id. */
export async function searchUsers(users: UsersRepository, q: string, page: number, pageSize: number): Promise<{ count: number; results: User[] }> {
  const query = normalise(q);
  // Exact and prefix use the lower-case field indexes; substring uses the trigram index, then
  // a plain `includes` check: user input never becomes a regular expression.
  const stages = await Promise.all([
    users.searchByField(query, 'exact', SEARCH_RESULT_CAP),
    users.searchByField(query, 'prefix', SEARCH_RESULT_CAP),
    query.length >= MIN_SUBSTRING_LENGTH ? users.searchByGrams(trigrams(query), SEARCH_RESULT_CAP) : Promise.resolve([]),
  ]);
  const ranked = new Map<number, { doc: UserDoc; rank: number }>();
  for (const doc of stages.flat()) {
    if (ranked.has(doc._id)) continue;
    const rank = rankMatch(query, [doc.usernameLower, doc.emailLower, doc.firstNameLower, doc.lastNameLower]);
    if (rank !== undefined) ranked.set(doc._id, { doc, rank });
  }
  const ordered = [...ranked.values()].sort((a, b) => a.rank - b.rank || a.doc.usernameLower.localeCompare(b.doc.usernameLower) || a.doc._id - b.doc._id);
  const start = (page - 1) * pageSize;
  return { count: ordered.length, results: ordered.slice(start, start + pageSize).map((r) => toUser(r.doc)) };
}
