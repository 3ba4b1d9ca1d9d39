// Checks an append request before it is queued: everything that can be decided from the
// request alone. What depends on the database (assets, floors, reversal targets) is decided
// by the writer and recorded as a rejection.
import { assertAccountPath } from './accounts.ts';
import { amountMax } from './amounts.ts';
import { assertCatalogued } from './catalogue.ts';
import { LedgerInputError } from './errors.ts';
import type { AppendRequest } from './types.ts';

export const postingsPerEntryMax = 256;
export const metadataBytesMax = 16_384;
export const idempotencyKeyLengthMax = 255;
export const sourceRefLengthMax = 512;
const effectiveAtMaxMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const kindPattern = /^[a-z][a-z0-9_.]{0,63}$/;
const assetCodePattern = /^[A-Z][A-Z0-9_.-]{0,31}$/;

export function validateAppendRequest(request: AppendRequest): void {
  if (!kindPattern.test(request.kind)) {
    throw new LedgerInputError('invalid_kind', 'kind must be a lower-case dotted word like "deposit.pending"', 'kind');
  }
  const key = request.idempotencyKey;
  if (typeof key !== 'string' || key.length < 1 || key.length > idempotencyKeyLengthMax || key.includes('\u0000')) {
    throw new LedgerInputError('invalid_idempotency_key', `the idempotency key must be 1 to ${idempotencyKeyLengthMax} characters`, 'idempotencyKey');
  }
  if (!Array.isArray(request.postings) || request.postings.length < 1 || request.postings.length > postingsPerEntryMax) {
    throw new LedgerInputError('invalid_postings', `an entry needs 1 to ${postingsPerEntryMax} postings`, 'postings');
  }
  request.postings.forEach((posting, index) => {
    const field = `postings[${index}]`;
    assertAccountPath(posting.source, `${field}.source`);
    assertAccountPath(posting.destination, `${field}.destination`);
    if (posting.source === posting.destination) {
      throw new LedgerInputError('invalid_posting', `${field} moves money from an account to itself`, field);
    }
    if (!assetCodePattern.test(posting.asset)) {
      throw new LedgerInputError('invalid_asset', `${field}.asset "${String(posting.asset).slice(0, 40)}" is not an asset code like "CHOCO"`, `${field}.asset`);
    }
    if (typeof posting.amount !== 'bigint' || posting.amount <= 0n || posting.amount > amountMax) {
      throw new LedgerInputError('invalid_amount', `${field}.amount must be a positive whole number of minor units`, `${field}.amount`);
    }
  });
  if (request.effectiveAt !== undefined) {
    const time = request.effectiveAt instanceof Date ? request.effectiveAt.getTime() : Number.NaN;
    // Years 1970–9999: the seal encodes times as ISO 8601, whose four-digit years both
    // JavaScript and PostgreSQL write identically (so verify can read them back as text).
    if (!Number.isFinite(time) || time < 0 || time > effectiveAtMaxMs) {
      throw new LedgerInputError('invalid_effective_at', 'effectiveAt must be a time between 1970 and 9999', 'effectiveAt');
    }
  }
  if (request.sourceRef !== undefined && (request.sourceRef.length > sourceRefLengthMax || request.sourceRef.includes('\u0000'))) {
    throw new LedgerInputError('invalid_source_ref', `sourceRef must be at most ${sourceRefLengthMax} characters`, 'sourceRef');
  }
  if (request.metadata !== undefined) {
    if (request.metadata === null || typeof request.metadata !== 'object' || Array.isArray(request.metadata)) {
      throw new LedgerInputError('invalid_metadata', 'metadata must be a JSON object', 'metadata');
    }
    const text = JSON.stringify(request.metadata);
    // PostgreSQL's jsonb cannot store U+0000; refusing it here keeps one bad entry from failing a batch.
    if (Buffer.byteLength(text) > metadataBytesMax || text.includes('\\u0000')) {
      throw new LedgerInputError('invalid_metadata', `metadata must be at most ${metadataBytesMax} bytes of JSON without NUL characters`, 'metadata');
    }
  }
  assertCatalogued(request.kind, request.metadata);
  if (request.reverses !== undefined && (typeof request.reverses !== 'bigint' || request.reverses <= 0n)) {
    throw new LedgerInputError('invalid_reverses', 'reverses must be the id of a journal entry', 'reverses');
  }
}
