// The deposit view: one row per observed deposit, with its status, folded from the journal's
// deposit entries (written by the chain indexers) so it can be replayed like any projection.
// Status is derived from which entries exist, never stored as a moving value, so the order in
// which a chunk's entries are applied cannot change the outcome:
//   deposit.pending                  → the row (status pending)
//   deposit.confirmed                → confirmed_entry_id (status confirmed; names its deposit by key)
//   deposit.confirmation_reversal    → confirmation_reversed (an operator rewind took it back)
//   deposit.reversal                 → reversal_entry_id (status reverted)
import { run, sql } from '../../infra/index.ts';
import { depositEntryKinds } from '../catalogue.ts';
import type { ProjectionDefinition } from './types.ts';

export const depositsProjection: ProjectionDefinition = {
  name: 'deposits',
  table: 'deposits',
  keyColumns: ['entry_id'],
  valueColumns: [
    'chain', 'user_id', 'address', 'asset', 'amount', 'tx_hash', 'log_index', 'block_height', 'block_hash',
    'effective_at', 'confirmed_entry_id', 'confirmation_reversed', 'reversal_entry_id',
  ],
  synchronous: false,
  async apply(db, table, afterId, throughId) {
    const t = sql.id(table);
    const after = afterId.toString();
    const through = throughId.toString();
    // A pending entry always precedes the entries that settle it, so one pass in this order sees
    // every row it must update, also when a chunk holds a deposit's whole life.
    await run(
      db,
      sql`INSERT INTO ${t} (entry_id, chain, user_id, wallet_id, address, asset, amount, tx_hash, log_index, block_height, block_hash, effective_at)
       SELECT e.id, e.metadata->>'chain', e.metadata->>'userId', e.metadata->>'walletId', e.metadata->>'address', s.code, p.amount,
              e.metadata->>'txHash', (e.metadata->>'logIndex')::integer, (e.metadata->>'blockHeight')::bigint,
              e.metadata->>'blockHash', e.effective_at
         FROM journal_entries e
         JOIN postings p ON p.entry_id = e.id AND p.posting_index = 0
         JOIN assets s ON s.id = p.asset_id
        WHERE e.id > ${after} AND e.id <= ${through} AND e.kind = ${depositEntryKinds.pending}
       ON CONFLICT (entry_id) DO NOTHING`,
    );
    await run(
      db,
      sql`UPDATE ${t} d SET confirmed_entry_id = e.id
         FROM journal_entries e JOIN journal_entries p ON p.idempotency_key = e.metadata->>'depositKey'
        WHERE e.id > ${after} AND e.id <= ${through} AND e.kind = ${depositEntryKinds.confirmed} AND d.entry_id = p.id`,
    );
    await run(
      db,
      sql`UPDATE ${t} d SET confirmation_reversed = true FROM journal_entries e
        WHERE e.id > ${after} AND e.id <= ${through} AND e.kind = ${depositEntryKinds.confirmationReversal} AND e.reverses = d.confirmed_entry_id`,
    );
    await run(
      db,
      sql`UPDATE ${t} d SET reversal_entry_id = e.id FROM journal_entries e
        WHERE e.id > ${after} AND e.id <= ${through} AND e.kind = ${depositEntryKinds.reversal} AND e.reverses = d.entry_id`,
    );
  },
};
