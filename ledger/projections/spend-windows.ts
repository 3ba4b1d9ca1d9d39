// Spend windows for agent wallets (issue #6): one row per `spend.hold` entry — the amount a spend
// reserved and when — marked released when a `spend.release` reverses the hold. The policy
// engine sums these rows over any window (rolling or calendar), so counters never drift from
// the journal. It is maintained in the transaction that appends the hold or release (so two
// concurrent spends cannot both see room under a limit) and replayed from the journal like any
// other projection.
import { run, sql } from '../../infra/index.ts';
import { spendEntryKinds } from '../catalogue.ts';
import type { ProjectionDefinition } from './types.ts';

export const spendWindowsProjection: ProjectionDefinition = {
  name: 'spend-windows',
  table: 'spend_window_entries',
  keyColumns: ['hold_entry_id'],
  valueColumns: ['wallet_id', 'asset', 'amount', 'spent_at', 'released_entry_id'],
  synchronous: true,
  async apply(db, table, afterId, throughId) {
    const t = sql.id(table);
    const after = afterId.toString();
    const through = throughId.toString();
    // Posting 0 of a hold is the spend's amount; a posting after it is the gas reserve.
    await run(
      db,
      sql`INSERT INTO ${t} (hold_entry_id, wallet_id, asset, amount, spent_at)
       SELECT e.id, e.metadata->>'walletId', s.code, p.amount, e.effective_at
         FROM journal_entries e
         JOIN postings p ON p.entry_id = e.id AND p.posting_index = 0
         JOIN assets s ON s.id = p.asset_id
        WHERE e.id > ${after} AND e.id <= ${through} AND e.kind = ${spendEntryKinds.hold}`,
    );
    await run(
      db,
      sql`UPDATE ${t} w SET released_entry_id = e.id
         FROM journal_entries e
        WHERE e.id > ${after} AND e.id <= ${through} AND e.kind = ${spendEntryKinds.release} AND w.hold_entry_id = e.reverses`,
    );
  },
};
