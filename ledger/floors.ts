// Floors by account pattern. Changing a rule re-applies it to every existing balance it now
// governs, in one transaction; PostgreSQL's CHECK refuses the change if any balance is
// already below the new floor.
import { isPgError, run, runFirst, sql, sqlBuilder, withTransaction, type Pool } from '../infra/index.ts';
import { parseAccountSelector } from './accounts.ts';
import { writerLockKey } from './append-sql.ts';
import { LedgerInputError } from './errors.ts';

export interface FloorRule {
  pattern: string;
  asset: string | null;
  /** Minor units; null = unbounded. */
  floor: bigint | null;
}

export async function setFloorRule(pool: Pool, rule: FloorRule): Promise<void> {
  parseAccountSelector(rule.pattern, 'pattern');
  try {
    await withTransaction(pool, async (client) => {
      // A pipelined writer decides floors from memory while it holds the writer lock; a floor
      // changes only between its runs.
      await run(client, sql`SELECT pg_advisory_xact_lock(${writerLockKey})`);
      let assetId: number | null = null;
      if (rule.asset !== null) {
        const asset = await runFirst(client, sqlBuilder.selectFrom('assets').select('id').where('code', '=', rule.asset));
        if (!asset) throw new LedgerInputError('unknown_asset', `asset ${rule.asset} is not registered`, 'asset');
        assetId = asset.id;
      }
      // The rule's key is an expression index (a null asset is 0), which the builder cannot name.
      await run(
        client,
        sql`INSERT INTO floor_rules (pattern, asset_id, floor) VALUES (${rule.pattern}, ${assetId}, ${rule.floor?.toString() ?? null})
            ON CONFLICT (pattern, coalesce(asset_id, 0)) DO UPDATE SET floor = excluded.floor`,
      );
      await run(
        client,
        sqlBuilder
          .updateTable('balances as b')
          .from('accounts as a')
          .set({ floor: sql<string>`ledger_floor_for(a.path, b.asset_id)` })
          .whereRef('a.id', '=', 'b.account_id')
          .where('a.path', '~', sql<string>`ledger_pattern_regex(${rule.pattern})`),
      );
    });
  } catch (error) {
    if (isPgError(error, '23514')) {
      throw new LedgerInputError('floor_conflict', `an account matching ${rule.pattern} is already below the new floor`, 'floor');
    }
    throw error;
  }
}

export async function listFloorRules(pool: Pool): Promise<FloorRule[]> {
  const rows = await run(
    pool,
    sqlBuilder.selectFrom('floor_rules as r').leftJoin('assets as s', 's.id', 'r.asset_id').select(['r.pattern', 's.code as asset', 'r.floor']).orderBy('r.pattern'),
  );
  return rows.map((row) => ({ pattern: row.pattern, asset: row.asset, floor: row.floor === null ? null : BigInt(row.floor) }));
}
