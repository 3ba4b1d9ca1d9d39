// The balances projection, replayable like the others. Live balances are written by the
// postings trigger inside the append transaction; this definition rebuilds them from the
// journal so `coffer projections replay balances` and `coffer verify` can compare.
import { postingSidesInRangeSql, type ProjectionDefinition } from './types.ts';
import { quoteIdentifier } from '../../infra/index.ts';

export const balancesProjection: ProjectionDefinition = {
  name: 'balances',
  table: 'balances',
  keyColumns: ['account_id', 'asset_id'],
  valueColumns: ['balance', 'postings_count', 'last_entry_id'],
  synchronous: true,
  emptyRowCondition: 'postings_count = 0 AND balance = 0',
  async apply(db, table, afterId, throughId) {
    const t = quoteIdentifier(table);
    await db.query(
      `INSERT INTO ${t} AS b (account_id, asset_id, balance, postings_count, last_entry_id)
       SELECT account_id, asset_id, sum(input - output), count(*), max(entry_id)
         FROM (${postingSidesInRangeSql}) m GROUP BY account_id, asset_id
       ON CONFLICT (account_id, asset_id) DO UPDATE SET
         balance = b.balance + excluded.balance,
         postings_count = b.postings_count + excluded.postings_count,
         last_entry_id = greatest(b.last_entry_id, excluded.last_entry_id)`,
      [afterId.toString(), throughId.toString()],
    );
  },
};
