// Floors by account pattern. Changing a rule re-applies it to every existing balance it now
// governs, in one transaction; PostgreSQL's CHECK refuses the change if any balance is
// already below the new floor.
import type { Pool } from '../infra/index.ts';
import { isPgError, withTransaction } from '../infra/index.ts';
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
      await client.query('SELECT pg_advisory_xact_lock($1)', [writerLockKey]);
      let assetId: number | null = null;
      if (rule.asset !== null) {
        const { rows } = await client.query<{ id: number }>('SELECT id FROM assets WHERE code = $1', [rule.asset]);
        if (!rows[0]) throw new LedgerInputError('unknown_asset', `asset ${rule.asset} is not registered`, 'asset');
        assetId = rows[0].id;
      }
      await client.query(
        `INSERT INTO floor_rules (pattern, asset_id, floor) VALUES ($1, $2, $3)
         ON CONFLICT (pattern, coalesce(asset_id, 0)) DO UPDATE SET floor = excluded.floor`,
        [rule.pattern, assetId, rule.floor?.toString() ?? null],
      );
      await client.query(
        `UPDATE balances b SET floor = ledger_floor_for(a.path, b.asset_id)
           FROM accounts a WHERE a.id = b.account_id AND a.path ~ ledger_pattern_regex($1)`,
        [rule.pattern],
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
  const { rows } = await pool.query<{ pattern: string; asset: string | null; floor: string | null }>(
    `SELECT r.pattern, s.code AS asset, r.floor::text FROM floor_rules r LEFT JOIN assets s ON s.id = r.asset_id ORDER BY r.pattern`,
  );
  return rows.map((row) => ({ pattern: row.pattern, asset: row.asset, floor: row.floor === null ? null : BigInt(row.floor) }));
}
