// Deposit addresses as other rooms need them, read here because users/ owns the table: the
// indexers ask which recipients of a block are users' deposit addresses, the sweeps which key
// signs for an address.
import { run, runFirst, sql, sqlBuilder, type Queryable } from '../infra/index.ts';

export interface WatchedDepositAddress {
  userId: string;
  /** As stored; `addresses` may have matched it case-insensitively. */
  address: string;
}

/**
 * The users' deposit addresses on `chain` among `addresses`. EVM addresses are compared
 * case-insensitively (`caseInsensitive`: a checksummed and a lowercase form are one address);
 * Bitcoin, Solana and NEAR ones exactly.
 */
export async function watchedDepositAddresses(db: Queryable, chain: string, addresses: readonly string[], options: { caseInsensitive?: boolean } = {}): Promise<WatchedDepositAddress[]> {
  if (addresses.length === 0) return [];
  const column = options.caseInsensitive ? sql<string>`lower(address)` : sql.ref<string>('address');
  const rows = await run(
    db,
    sqlBuilder
      .selectFrom('deposit_addresses')
      .select(['user_id', 'address'])
      .where('chain', '=', chain)
      .where(column, '=', sql<string>`any(${[...addresses]}::text[])`),
  );
  return rows.map((row) => ({ userId: row.user_id, address: row.address }));
}

/** Every deposit address on `chain` (the Bitcoin indexer turns them into scripts it watches). */
export async function depositAddressesOn(db: Queryable, chain: string): Promise<string[]> {
  const rows = await run(db, sqlBuilder.selectFrom('deposit_addresses').select('address').where('chain', '=', chain));
  return rows.map((row) => row.address);
}

/** The derivation of the key that signs for a deposit address: its NEAR predecessor and path. */
export async function depositAddressKey(db: Queryable, chain: string, address: string): Promise<{ predecessor: string; path: string; publicKey: string | null } | undefined> {
  const row = await runFirst(
    db,
    sqlBuilder.selectFrom('deposit_addresses').select(['predecessor', 'path', 'public_key']).where('chain', '=', chain).where('address', '=', address),
  );
  return row && { predecessor: row.predecessor, path: row.path, publicKey: row.public_key };
}

/** The NEAR accounts that sign for deposit addresses on chains other than `exceptChain`, each once. */
export async function depositAddressPredecessors(db: Queryable, options: { exceptChain: string }): Promise<string[]> {
  const rows = await run(db, sqlBuilder.selectFrom('deposit_addresses').select('predecessor').distinct().where('chain', '<>', options.exceptChain).orderBy('predecessor'));
  return rows.map((row) => row.predecessor);
}
