// CHOCO per user: what was credited to and debited from `users:<id>:choco`, folded from the
// journal's postings, so a replay from the journal gives the same table.
import { run, sql } from '../../infra/index.ts';
import { postingSidesInRange, type ProjectionDefinition } from './types.ts';

export const chocoBalancesProjection: ProjectionDefinition = {
  name: 'choco_balances',
  table: 'choco_balances',
  keyColumns: ['user_id'],
  valueColumns: ['credited', 'debited', 'last_entry_id'],
  synchronous: false,
  async apply(db, table, afterId, throughId) {
    await run(
      db,
      sql`INSERT INTO ${sql.id(table)} AS c (user_id, credited, debited, last_entry_id)
       SELECT split_part(a.path, ':', 2), sum(m.input), sum(m.output), max(m.entry_id)
         FROM (${postingSidesInRange(afterId, throughId)}) m
         JOIN accounts a ON a.id = m.account_id
         JOIN assets s ON s.id = m.asset_id
        WHERE s.code = 'CHOCO' AND a.path LIKE 'users:%:choco' AND split_part(a.path, ':', 4) = ''
        GROUP BY 1
       ON CONFLICT (user_id) DO UPDATE SET
         credited = c.credited + excluded.credited,
         debited = c.debited + excluded.debited,
         last_entry_id = greatest(c.last_entry_id, excluded.last_entry_id)`,
    );
  },
};
