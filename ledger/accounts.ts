// Account paths and selectors. A path is colon-separated segments (`custody:ethereum:0xabc`);
// the first is a lower-case word naming the kind of account. A selector picks accounts:
// an exact path, `*` for exactly one segment, and a trailing `*` for one or more segments,
// so `users:42:*` rolls up everything under user 42. These rules mirror the CHECKs in
// migrations/0001_ledger.sql; keep them in step.
import type { RawBuilder } from 'kysely';
import { sql } from '../infra/index.ts';
import { LedgerInputError } from './errors.ts';

export const accountPathLengthMax = 512;
const accountPathPattern = /^[a-z][a-z0-9_-]*(:[A-Za-z0-9_.@+-]+)+$/;
const selectorPattern = /^([a-z][a-z0-9_-]*|\*)(:([A-Za-z0-9_.@+-]+|\*))*$/;

export function assertAccountPath(path: string, field = 'account'): void {
  if (path.length > accountPathLengthMax || !accountPathPattern.test(path)) {
    throw new LedgerInputError(
      'invalid_account',
      `${field} "${path.slice(0, 80)}" is not an account path like "treasury:ethereum" (lower-case first segment, colon-separated, at most ${accountPathLengthMax} characters)`,
      field,
    );
  }
}

export interface AccountSelector {
  /** The selector as given. */
  text: string;
  /** Literal prefix every matching path starts with (lets PostgreSQL use the path index). */
  likePrefix: string;
  /** Anchored POSIX regex for the whole path, or null when the selector is an exact path. */
  regex: string | null;
}

export function parseAccountSelector(text: string, field = 'account'): AccountSelector {
  if (text.length > accountPathLengthMax || !selectorPattern.test(text)) {
    throw new LedgerInputError(
      'invalid_account_selector',
      `${field} "${text.slice(0, 80)}" is neither an account path nor a pattern like "users:42:*"`,
      field,
    );
  }
  if (!text.includes('*')) {
    assertAccountPath(text, field);
    return { text, likePrefix: text, regex: null };
  }
  const segments = text.split(':');
  const escape = (segment: string) => segment.replace(/[.+]/g, (c) => `\\${c}`);
  const parts = segments.map((segment, index) => {
    if (segment !== '*') return escape(segment);
    return index === segments.length - 1 ? '[^:]+(:[^:]+)*' : '[^:]+';
  });
  const firstWildcard = segments.findIndex((segment) => segment === '*');
  const literal = segments.slice(0, firstWildcard).join(':');
  return { text, likePrefix: literal ? `${literal}:` : '', regex: `^${parts.join(':')}$` };
}

/** Escapes LIKE wildcards so a literal prefix matches only itself. */
export function likeEscape(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The SQL condition that `column` (an account path) matches `selector`: equality, or the literal prefix (indexed) and the regex. */
export function pathMatches(column: string, selector: string): RawBuilder<boolean> {
  const parsed = parseAccountSelector(selector);
  if (parsed.regex === null) return sql<boolean>`${sql.ref(column)} = ${parsed.text}`;
  return sql<boolean>`${sql.ref(column)} LIKE ${likeEscape(parsed.likePrefix) + '%'} AND ${sql.ref(column)} ~ ${parsed.regex}`;
}

const evmAddressSegment = /^0x[0-9a-fA-F]{40}$/;

/**
 * An account path or selector as the ledger stores it: every segment that is an EVM address in
 * lower case. Clients copy checksummed addresses (0xAbC…) from explorers and from coffer's own
 * output, and a filter in mixed case would silently match nothing. Other segments keep their
 * case: base58 and NEAR names are case-sensitive, and no base58 text starts with "0x".
 */
export function normalizeAccount(text: string): string {
  return text
    .split(':')
    .map((segment) => (evmAddressSegment.test(segment) ? segment.toLowerCase() : segment))
    .join(':');
}
