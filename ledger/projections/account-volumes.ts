// Volumes per account and asset: how much came in and went out, and how many postings.
import { run, sql } from '../../infra/index.ts';
import { postingSidesInRange, type ProjectionDefinition } from './types.ts';

export const accountVolumes: ProjectionDefinition = {
  name: 'account_volumes',
  table: 'account_volumes',
  keyColumns: ['account_id', 'asset_id'],
  valueColumns: ['input', 'output', 'postings_count', 'last_entry_id'],
  synchronous: false,
  async apply(db, table, afterId, throughId) {
    await run(
      db,
      sql`INSERT INTO ${sql.id(table)} AS v (account_id, asset_id, input, output, postings_count, last_entry_id)
       SELECT account_id, asset_id, sum(input), sum(output), count(*), max(entry_id)
         FROM (${postingSidesInRange(afterId, throughId)}) m GROUP BY account_id, asset_id
       ON CONFLICT (account_id, asset_id) DO UPDATE SET
         input = v.input + excluded.input,
         output = v.output + excluded.output,
         postings_count = v.postings_count + excluded.postings_count,
         last_entry_id = greatest(v.last_entry_id, excluded.last_entry_id)`,
    );
  },
};
