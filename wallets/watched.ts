// Agent wallets as the indexers see them: money sent to a wallet's address funds its spends, so
// the deposit core watches these addresses next to users' deposit addresses. Read here because
// wallets/ owns the table.
import { run, sql, sqlBuilder, type Queryable } from '../infra/index.ts';

/** The agent wallets on `chain` among `addresses` (compared case-insensitively with `caseInsensitive`, as for EVM). */
export async function watchedWalletAddresses(db: Queryable, chain: string, addresses: readonly string[], options: { caseInsensitive?: boolean } = {}): Promise<{ walletId: string; address: string }[]> {
  if (addresses.length === 0) return [];
  const column = options.caseInsensitive ? sql<string>`lower(address)` : sql.ref<string>('address');
  const rows = await run(
    db,
    sqlBuilder
      .selectFrom('wallets')
      .select(['id', 'address'])
      .where('chain', '=', chain)
      .where(column, '=', sql<string>`any(${[...addresses]}::text[])`),
  );
  return rows.map((row) => ({ walletId: row.id, address: row.address }));
}
