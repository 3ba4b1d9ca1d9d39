// Volumes per account and asset: how much came in and went out, and how many postings.
import { postingSidesInRangeSql, type ProjectionDefinition } from './types.ts';
import { quoteIdentifier } from '../../infra/index.ts';

export const accountVolumes: ProjectionDefinition = {
  name: 'account_volumes',
  table: 'account_volumes',
  keyColumns: ['account_id', 'asset_id'],
  valueColumns: ['input', 'output', 'postings_count', 'last_entry_id'],
  synchronous: false,
  async apply(db, table, afterId, throughId) {
    const t = quoteIdentifier(table);
    await db.query(
      `INSERT INTO ${t} AS v (account_id, asset_id, input, output, postings_count, last_entry_id)
       SELECT account_id, asset_id, sum(input), sum(output), count(*), max(entry_id)
         FROM (${postingSidesInRangeSql}) m GROUP BY account_id, asset_id
       ON CONFLICT (account_id, asset_id) DO UPDATE SET
         input = v.input + excluded.input,
         output = v.output + excluded.output,
         postings_count = v.postings_count + excluded.postings_count,
         last_entry_id = greatest(v.last_entry_id, excluded.last_entry_id)`,
      [afterId.toString(), throughId.toString()],
    );
  },
};
