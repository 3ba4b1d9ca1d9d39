// Reads of the deposit view (ledger/projections/deposits.ts), for the rooms that follow deposits
// after the indexers wrote them: the rewind, the user's deposit list, the consolidation. The view
// is asynchronous; callers that must see the newest entries catch it up first (`catchUp`).
import { run, sqlBuilder, type Queryable } from '../infra/index.ts';

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
