// Reads of the deposit view (ledger/projections/deposits.ts), for the rooms that follow deposits
// after the indexers wrote them: the rewind, the user's deposit list, the consolidation. The view
// is asynchronous; callers that must see the newest entries catch it up first (`catchUp`).
import { run, sql, sqlBuilder, type Queryable } from '../infra/index.ts';

/** `chain`'s deposits above block `height` that are not reversed yet, with each deposit entry's idempotency key. */
export async function depositsAbove(db: Queryable, chain: string, height: number) {
  return run(
    db,
    sqlBuilder
      .selectFrom('deposits as d')
      .innerJoin('journal_entries as e', 'e.id', 'd.entry_id')
      .select(['d.entry_id', 'd.address', 'd.wallet_id', 'd.asset', 'd.amount', 'd.block_height', 'd.block_hash', 'e.idempotency_key as deposit_key', 'd.confirmed_entry_id', 'd.confirmation_reversed'])
      .where('d.chain', '=', chain)
      .where('d.block_height', '>', BigInt(height))
      .where('d.reversal_entry_id', 'is', null)
      .orderBy('d.entry_id'),
  );
}

export type DepositViewStatus = 'pending' | 'confirmed' | 'reverted';
const depositStatuses: readonly string[] = ['pending', 'confirmed', 'reverted'] satisfies DepositViewStatus[];
const isDepositStatus = (status: string | null): status is DepositViewStatus => status !== null && depositStatuses.includes(status);

export interface ViewedDeposit {
  entryId: bigint;
  chain: string;
  address: string;
  txHash: string;
  logIndex: number | null;
  asset: string;
  scale: number;
  amount: bigint;
  blockHeight: bigint;
  blockHash: string;
  status: DepositViewStatus;
  effectiveAt: Date;
}

/** A user's deposits, newest first; `before` is an entry id from the previous page. */
export async function userDeposits(db: Queryable, userId: string, options: { limit: number; before?: bigint }): Promise<ViewedDeposit[]> {
  const rows = await run(
    db,
    sqlBuilder
      .selectFrom('deposits as d')
      .innerJoin('assets as s', 's.code', 'd.asset')
      .select(['d.entry_id', 'd.chain', 'd.address', 'd.tx_hash', 'd.log_index', 'd.asset', 's.scale', 'd.amount', 'd.block_height', 'd.block_hash', 'd.status', 'd.effective_at'])
      .where('d.user_id', '=', userId)
      .$if(options.before !== undefined, (query) => query.where('d.entry_id', '<', options.before ?? 0n))
      .orderBy('d.entry_id', 'desc')
      .limit(options.limit),
  );
  return rows.map((row) => {
    // The view's generated column yields exactly these.
    if (!isDepositStatus(row.status)) throw new Error(`deposit ${row.entry_id} has an unknown status ${row.status}`);
    return {
      entryId: row.entry_id,
      chain: row.chain,
      address: row.address,
      txHash: row.tx_hash,
      logIndex: row.log_index,
      asset: row.asset,
      scale: row.scale,
      amount: BigInt(row.amount),
      blockHeight: row.block_height,
      blockHash: row.block_hash,
      status: row.status,
      effectiveAt: row.effective_at,
    };
  });
}

export interface ConfirmedDeposit {
  entryId: bigint;
  userId: string | null;
  address: string;
  amount: bigint;
  txHash: string;
  /** The output index of a UTXO deposit (its entry's metadata); null on account chains. */
  vout: number | null;
}

/** `chain`'s confirmed deposits that no reversal took back, in journal order after entry `after`. */
export async function confirmedDeposits(db: Queryable, chain: string, options: { after: bigint; limit: number }): Promise<ConfirmedDeposit[]> {
  const rows = await run(
    db,
    sqlBuilder
      .selectFrom('deposits as d')
      .innerJoin('journal_entries as e', 'e.id', 'd.entry_id')
      .select(['d.entry_id', 'd.user_id', 'd.address', 'd.amount', 'd.tx_hash', sql<number | null>`(e.metadata->>'vout')::integer`.as('vout')])
      .where('d.chain', '=', chain)
      .where('d.entry_id', '>', options.after)
      .where('d.confirmed_entry_id', 'is not', null)
      .where('d.confirmation_reversed', '=', false)
      .where('d.reversal_entry_id', 'is', null)
      .orderBy('d.entry_id')
      .limit(options.limit),
  );
  return rows.map((row) => ({ entryId: row.entry_id, userId: row.user_id, address: row.address, amount: BigInt(row.amount), txHash: row.tx_hash, vout: row.vout }));
}
