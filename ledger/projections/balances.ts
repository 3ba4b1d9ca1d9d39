// The balances projection, replayable like the others. Live balances are written by the
// postings trigger inside the append transaction; this definition rebuilds them from the
// journal so `coffer projections replay balances` and `coffer verify` can compare.
import { run, sql } from '../../infra/index.ts';
import { postingSidesInRange, type ProjectionDefinition } from './types.ts';

export const balancesProjection: ProjectionDefinition = {
  name: 'balances',
  table: 'balances',
  keyColumns: ['account_id', 'asset_id'],
  valueColumns: ['balance', 'postings_count', 'last_entry_id'],
  synchronous: true,
  emptyRowCondition: 'postings_count = 0 AND balance = 0',
  async apply(db, table, afterId, throughId) {
    await run(
      db,
      sql`INSERT INTO ${sql.id(table)} AS b (account_id, asset_id, balance, postings_count, last_entry_id)
       SELECT account_id, asset_id, sum(input - output), count(*), max(entry_id)
         FROM (${postingSidesInRange(afterId, throughId)}) m GROUP BY account_id, asset_id
       ON CONFLICT (account_id, asset_id) DO UPDATE SET
         balance = b.balance + excluded.balance,
         postings_count = b.postings_count + excluded.postings_count,
         last_entry_id = greatest(b.last_entry_id, excluded.last_entry_id)`,
    );
  },
};
