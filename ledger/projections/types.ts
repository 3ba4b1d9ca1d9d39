import { sql, type Queryable } from '../../infra/index.ts';

/**
 * A projection derived from the journal. `apply` folds the postings of entries in
 * (afterId, throughId] into `table` with set-based SQL; the framework calls it for live
 * following (on the live table) and for replays (on a shadow table), so both paths share one
 * definition and cannot drift apart.
 */
export interface ProjectionDefinition {
  name: string;
  /** The live table. */
  table: string;
  /** Columns that identify a row, and the columns compared by a diff. */
  keyColumns: [string, ...string[]];
  valueColumns: string[];
  /** Maintained in the append transaction (balances) rather than by following the journal. */
  synchronous: boolean;
  /** Live rows matching this SQL condition mean the same as no row (e.g. a balance row created for an entry that was then rejected). */
  emptyRowCondition?: string;
  apply(db: Queryable, table: string, afterId: bigint, throughId: bigint): Promise<void>;
}

/**
 * Both sides of every posting of entries in (afterId, throughId]: one row per account touched,
 * with what came in and what went out. Projections aggregate this; keeping it in one place means
 * they all read the journal the same way.
 */
export const postingSidesInRange = (afterId: bigint, throughId: bigint) => {
  const after = afterId.toString();
  const through = throughId.toString();
  return sql`
  SELECT destination_account_id AS account_id, asset_id, amount AS input, 0 AS output, entry_id
    FROM postings WHERE entry_id > ${after} AND entry_id <= ${through}
  UNION ALL
  SELECT source_account_id, asset_id, 0, amount, entry_id
    FROM postings WHERE entry_id > ${after} AND entry_id <= ${through}`;
};
