// Agent keys by the wallet they act for: a wallet's lockdown (wallets/) revokes them all at once,
// in the caller's transaction, and records which ones it revoked.
import { run, sql, sqlBuilder, type Queryable } from '../infra/index.ts';

/** Revokes every live agent key of `walletId`; returns the ids it revoked (none when all were revoked already). */
export async function revokeWalletKeys(db: Queryable, walletId: string): Promise<string[]> {
  const rows = await run(db, sqlBuilder.updateTable('api_keys').set({ revoked_at: sql<Date>`now()` }).where('wallet_id', '=', walletId).where('revoked_at', 'is', null).returning('id'));
  return rows.map((row) => row.id);
}
