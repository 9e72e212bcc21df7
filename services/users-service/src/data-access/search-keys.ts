/** The keys users are stored (unique, case-insensitive) and searched by: normalised fields and their trigrams. */

/**
 * Lower-cases and NFKC-normalises a search field or query. NUL becomes U+FFFD: the directory
 * separates the parts of its index entries with NUL (a name may hold any character).
 */
export function normalise(text: string): string {
  return text.normalize('NFKC').toLowerCase().replaceAll('\u0000', '\uFFFD');
}

/** Distinct trigrams of a normalised string (empty when shorter than three characters). */
export function trigrams(text: string): string[] {
  const grams = new Set<string>();
  const chars = Array.from(text);
  for (let i = 0; i + 3 <= chars.length; i++) grams.add(chars.slice(i, i + 3).join(''));
  return [...grams];
}
