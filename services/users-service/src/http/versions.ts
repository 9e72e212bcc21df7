import { AppError, ENTITY_TAG, IF_MATCH, type UserProfile } from '@suite/contracts';
import type { Request } from 'express';
import type { Precondition, Versioned } from '../domain/users.use-cases.js';

/** A version as an entity tag: strong, quoted. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * The versions `If-Match` names (RFC 9110 §13.1.1): `*`, or a list of entity tags compared
 * strongly (a weak tag, or one this API never issued, matches nothing). Undefined without the
 * header; a malformed one is 400.
 */
export function ifMatch(req: Request): Precondition | undefined {
  const header = req.get('if-match');
  if (header === undefined) return undefined;
  if (!IF_MATCH.test(header)) {
    throw new AppError('bad_request', 'If-Match must be * or a list of quoted entity tags', [
      { path: 'header.If-Match', message: 'not an entity tag list', code: 'invalid_format' },
    ]);
  }
  if (header.trim() === '*') return '*';
  const versions: number[] = [];
  for (const [, weak, text] of header.matchAll(ENTITY_TAG)) {
    if (!weak && /^(0|[1-9][0-9]{0,14})$/.test(text!)) versions.push(Number(text));
  }
  return versions;
}

/** The reply with the profile and its `ETag`; a GET whose `If-None-Match` names that version gets 304 without a body. */
export function versioned(
  req: Request,
  status: 200,
  { profile, version }: Versioned,
):
  | { status: 200; body: UserProfile; headers: Record<string, string> }
  | { status: 304; headers: Record<string, string> } {
  const etag = { etag: etagOf(version) };
  // If-None-Match compares weakly (RFC 9110 §13.1.2): W/"3" matches "3".
  const header = req.get('if-none-match');
  const unchanged =
    header !== undefined &&
    (header.trim() === '*' ||
      [...header.matchAll(ENTITY_TAG)].some(([, , text]) => text === String(version)));
  if (req.method === 'GET' && unchanged) return { status: 304, headers: etag };
  return { status, body: profile, headers: etag };
}
