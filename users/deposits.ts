// What a user sees of their deposits: the deposit view (a projection of the journal's deposit
// entries) with confirmations counted from the indexer's view of the chain head, and pending
// and confirmed balances straight from the ledger's balances.
import type { Queryable } from '../infra/index.ts';
import { chart } from '../ledger/index.ts';

export type DepositStatus = 'pending' | 'confirmed' | 'reverted';

export interface UserDeposit {
  entryId: bigint;
  chain: string;
  address: string;
  txHash: string;
  logIndex: number | null;
  asset: string;
  scale: number;
  amount: bigint;
  blockHeight: number;
  blockHash: string;
  /** Blocks on the chain since the deposit's block, counting it; null once reverted. */
  confirmations: number | null;
  finalityDepth: number | null;
  status: DepositStatus;
  effectiveAt: Date;
}

export interface UserBalance {
  chain: string;
  asset: string;
  scale: number;
  /** Seen on chain, not yet at the finality depth. */
  pending: bigint;
  /** At the finality depth: in custody. */
  confirmed: bigint;
}

/** Newest first; `before` is an entry id from the previous page. */
export async function listUserDeposits(db: Queryable, userId: string, options: { limit?: number; before?: bigint } = {}): Promise<UserDeposit[]> {
  const { rows } = await db.query<{
    entry_id: bigint;
    chain: string;
    address: string;
    tx_hash: string;
    log_index: number | null;
    asset: string;
    scale: number;
    amount: string;
    block_height: bigint;
    block_hash: string;
    status: DepositStatus;
    effective_at: Date;
    chain_head: bigint | null;
    finality_depth: number | null;
  }>(
    `SELECT d.entry_id, d.chain, d.address, d.tx_hash, d.log_index, d.asset, s.scale, d.amount::text, d.block_height, d.block_hash,
            d.status, d.effective_at, c.chain_head, c.finality_depth
       FROM deposits d
       JOIN assets s ON s.code = d.asset
       LEFT JOIN LATERAL (SELECT chain_head, finality_depth FROM indexer_cursors WHERE chain = d.chain ORDER BY indexer LIMIT 1) c ON true
      WHERE d.user_id = $1 AND ($2::bigint IS NULL OR d.entry_id < $2)
      ORDER BY d.entry_id DESC LIMIT $3`,
    [userId, options.before?.toString() ?? null, options.limit ?? 100],
  );
  return rows.map((row) => ({
    entryId: row.entry_id,
    chain: row.chain,
    address: row.address,
    txHash: row.tx_hash,
    logIndex: row.log_index,
    asset: row.asset,
    scale: row.scale,
    amount: BigInt(row.amount),
    blockHeight: Number(row.block_height),
    blockHash: row.block_hash,
    confirmations: row.status === 'reverted' || row.chain_head === null ? null : Math.max(0, Number(row.chain_head) - Number(row.block_height) + 1),
    finalityDepth: row.finality_depth,
    status: row.status,
    effectiveAt: row.effective_at,
  }));
}

export async function getUserBalances(db: Queryable, userId: string): Promise<UserBalance[]> {
  const addresses = await db.query<{ chain: string; address: string }>('SELECT chain, address FROM deposit_addresses WHERE user_id = $1', [userId]);
  const chains: string[] = [];
  const paths: string[] = [];
  const parts: string[] = [];
  for (const { chain, address } of addresses.rows) {
    chains.push(chain, chain);
    paths.push(chart.depositPending(chain, address), chart.custody(chain, address));
    parts.push('pending', 'confirmed');
  }
  const { rows } = await db.query<{ chain: string; asset: string; scale: number; pending: string; confirmed: string }>(
    `SELECT p.chain, s.code AS asset, s.scale,
            coalesce(sum(b.balance) FILTER (WHERE p.part = 'pending'), 0)::text AS pending,
            coalesce(sum(b.balance) FILTER (WHERE p.part = 'confirmed'), 0)::text AS confirmed
       FROM unnest($1::text[], $2::text[], $3::text[]) AS p(chain, path, part)
       JOIN accounts a ON a.path = p.path
       JOIN balances b ON b.account_id = a.id
       JOIN assets s ON s.id = b.asset_id
      GROUP BY p.chain, s.code, s.scale
      ORDER BY p.chain, s.code`,
    [chains, paths, parts],
  );
  return rows.map((row) => ({ chain: row.chain, asset: row.asset, scale: row.scale, pending: BigInt(row.pending), confirmed: BigInt(row.confirmed) }));
}

/** The user's CHOCO, from the ledger's balances (written in the append transaction, so never behind). */
export async function getUserChoco(db: Queryable, userId: string): Promise<{ balance: bigint; scale: number }> {
  const { rows } = await db.query<{ balance: string | null; scale: number }>(
    `SELECT (SELECT b.balance::text FROM balances b JOIN accounts a ON a.id = b.account_id WHERE a.path = $1 AND b.asset_id = s.id) AS balance, s.scale
       FROM assets s WHERE s.code = 'CHOCO'`,
    [chart.userChoco(userId)],
  );
  return { balance: BigInt(rows[0]?.balance ?? '0'), scale: rows[0]?.scale ?? 18 };
}
