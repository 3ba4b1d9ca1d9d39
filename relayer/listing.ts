// Listing a relayer's transactions (Defender's `GET /relayers/self/txs`): pages in the order the
// transactions were stored, `seq` (migrations/0019). It is taken when a transaction is stored,
// under the relayer's row lock held to commit, so per relayer it is a total order that is also
// the order rows become visible: a cursor "the last seq seen" neither skips nor repeats, however
// many transactions share a moment, and across a key rotation, where the old and the new key
// each have a nonce 0, 1, … (the nonce alone repeats or skips there). Within one key it is nonce
// order. Creation time is not such an order: concurrent sends start before they take the lock,
// and many share a millisecond.
import { run, sqlBuilder, type Queryable } from '../infra/index.ts';
import { RelayError } from './relayers.ts';
import { fromRow, type RelayedTransaction, type RelayStatus } from './transactions.ts';

export interface ListQuery {
  status?: 'pending' | 'mined' | 'failed' | 'expired';
  /** Only transactions created at or after this time (a filter, not the order). */
  since?: Date;
  limit: number;
  sort: 'asc' | 'desc';
  /** The `next` of the previous page, unchanged. */
  next?: string;
}

const statusGroups: Record<NonNullable<ListQuery['status']>, RelayStatus[]> = {
  pending: ['pending', 'sent', 'submitted', 'inmempool'],
  mined: ['mined', 'confirmed'],
  failed: ['failed'],
  expired: ['expired'],
};

/** PostgreSQL's bigint, the seq column's type. */
const seqMax = 2n ** 63n - 1n;
const cursorPrefix = 'seq:';
/** Longer than any cursor this API returns (base64url of "nonce:" and 19 digits). */
const cursorLengthMax = 40;

export const encodeCursor = (seq: bigint): string => Buffer.from(`${cursorPrefix}${seq}`).toString('base64url');

/** The seq a `next` continues after; a 400 for anything this API did not return. */
export function decodeCursor(next: string): bigint {
  const invalid = () => new RelayError('invalid_request', 'next is not a cursor this API returned: pass the next of the previous page unchanged, or leave it out for the first page');
  if (next.length > cursorLengthMax || !/^[A-Za-z0-9_-]+$/.test(next)) throw invalid();
  const text = Buffer.from(next, 'base64url').toString('utf8');
  const digits = text.startsWith(cursorPrefix) ? text.slice(cursorPrefix.length) : '';
  if (!/^\d{1,19}$/.test(digits) || BigInt(digits) > seqMax || encodeCursor(BigInt(digits)) !== next) throw invalid();
  return BigInt(digits);
}

/** A page of transactions in stored order (`asc` oldest first); `next` only when more follow. */
export async function listTransactions(db: Queryable, relayerId: string, query: ListQuery): Promise<{ items: RelayedTransaction[]; next?: string }> {
  const after = query.next === undefined ? undefined : decodeCursor(query.next);
  let select = sqlBuilder.selectFrom('relayer_transactions').selectAll().where('relayer_id', '=', relayerId);
  if (query.status) select = select.where('status', 'in', statusGroups[query.status]);
  if (query.since) select = select.where('created_at', '>=', query.since);
  if (after !== undefined) select = select.where('seq', query.sort === 'asc' ? '>' : '<', after);
  // One more than asked: whether it exists decides `next`, so the last page never has one.
  const rows = await run(db, select.orderBy('seq', query.sort).limit(query.limit + 1));
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const items = page.map(fromRow);
  return rows.length > query.limit && last ? { items, next: encodeCursor(last.seq) } : { items };
}
