// CHOCO per user: what was credited to and debited from `users:<id>:choco`, folded from the
// journal's postings, so a replay from the journal gives the same table.
import { quoteIdentifier } from '../../infra/index.ts';
import { postingSidesInRangeSql, type ProjectionDefinition } from './types.ts';

export const chocoBalancesProjection: ProjectionDefinition = {
  name: 'choco_balances',
  table: 'choco_balances',
  keyColumns: ['user_id'],
  valueColumns: ['credited', 'debited', 'last_entry_id'],
  synchronous: false,
  async apply(db, table, afterId, throughId) {
    const t = quoteIdentifier(table);
    await db.query(
      `INSERT INTO ${t} AS c (user_id, credited, debited, last_entry_id)
       SELECT split_part(a.path, ':', 2), sum(m.input), sum(m.output), max(m.entry_id)
         FROM (${postingSidesInRangeSql}) m
         JOIN accounts a ON a.id = m.account_id
         JOIN assets s ON s.id = m.asset_id
        WHERE s.code = 'CHOCO' AND a.path LIKE 'users:%:choco' AND split_part(a.path, ':', 4) = ''
        GROUP BY 1
       ON CONFLICT (user_id) DO UPDATE SET
         credited = c.credited + excluded.credited,
         debited = c.debited + excluded.debited,
         last_entry_id = greatest(c.last_entry_id, excluded.last_entry_id)`,
      [afterId.toString(), throughId.toString()],
    );
  },
};
