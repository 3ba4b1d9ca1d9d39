// Reading the spend-windows projection (projections/spend-windows.ts): what a wallet has held or
// spent, and how often, since each window's start. The policy engine (wallets/) asks this under
// the wallet's row lock, so the sums include every earlier hold. Released holds do not count.
import { run, runOne, sql, sqlBuilder, type Queryable } from '../infra/index.ts';

/** One window to sum: `since` ≤ spent_at ≤ the decision's time, of `asset` (every asset when null). */
export interface SpendWindow {
  key: string;
  asset: string | null;
  since: Date;
}

export interface SpendWindowUsage {
  /** Per window key: the amount held or spent (minor units of its asset) and the number of spends. */
  windows: Map<string, { amount: bigint; count: number }>;
  /** The latest un-released spend at or before `at`. */
  lastSpendAt: Date | null;
}

/** The wallet's un-released holds in each window as of `at`, and its last spend, in two statements. */
export async function spendWindowUsage(db: Queryable, walletId: string, windows: readonly SpendWindow[], at: Date): Promise<SpendWindowUsage> {
  const totals = new Map<string, { amount: bigint; count: number }>();
  if (windows.length > 0) {
    // Set-based: every window in one statement, each a row of the unnest joined to its holds.
    const rows = await run(
      db,
      sql<{ key: string; amount: string; count: bigint }>`
        SELECT q.key, coalesce(sum(w.amount), 0)::text AS amount, count(w.hold_entry_id) AS count
          FROM unnest(${windows.map((w) => w.key)}::text[], ${windows.map((w) => w.asset)}::text[], ${windows.map((w) => w.since.toISOString())}::timestamptz[]) AS q(key, asset, since)
          LEFT JOIN spend_window_entries w
            ON w.wallet_id = ${walletId} AND w.released_entry_id IS NULL AND w.spent_at >= q.since AND w.spent_at <= ${at.toISOString()}::timestamptz
           AND (q.asset IS NULL OR w.asset = q.asset)
         GROUP BY q.key`,
    );
    for (const row of rows) totals.set(row.key, { amount: BigInt(row.amount), count: Number(row.count) });
  }
  const last = await runOne(
    db,
    sqlBuilder
      .selectFrom('spend_window_entries')
      .select((eb) => eb.fn.max<Date | null>('spent_at').as('at'))
      .where('wallet_id', '=', walletId)
      .where('released_entry_id', 'is', null)
      .where('spent_at', '<=', at),
  );
  return { windows: totals, lastSpendAt: last.at };
}
