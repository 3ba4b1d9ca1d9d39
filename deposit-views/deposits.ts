// What a user sees of their deposits: the deposit view (a projection of the journal's deposit
// entries) with confirmations counted from the indexer's view of the chain head, and pending
// and confirmed balances straight from the ledger's balances.
import type { Queryable } from '../infra/index.ts';
import { chainHeads } from '../indexers/index.ts';
import { accountBalances, chart, getAsset, userDeposits, type DepositViewStatus, type ViewedDeposit } from '../ledger/index.ts';
import { userDepositAddresses } from '../users/index.ts';

export type DepositStatus = DepositViewStatus;

/** A deposit as its user sees it: the ledger's view, with the chain's confirmations beside it. */
export interface UserDeposit extends Omit<ViewedDeposit, 'blockHeight'> {
  blockHeight: number;
  /** Blocks on the chain since the deposit's block, counting it; null once reverted. */
  confirmations: number | null;
  finalityDepth: number | null;
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

/** A page of deposits, at most this many. */
export const userDepositsLimitMax = 1_000;

/** Newest first; `before` is an entry id from the previous page. */
export async function listUserDeposits(db: Queryable, userId: string, options: { limit?: number; before?: bigint } = {}): Promise<UserDeposit[]> {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > userDepositsLimitMax) throw new RangeError(`limit must be 1–${userDepositsLimitMax}`);
  // One after the other: `db` may be a transaction's client, which runs one statement at a time.
  const deposits = await userDeposits(db, userId, { limit, ...(options.before === undefined ? {} : { before: options.before }) });
  const heads = await chainHeads(db);
  return deposits.map((deposit) => {
    const head = heads.get(deposit.chain);
    const chainHead = head?.chainHead ?? null;
    return {
      ...deposit,
      blockHeight: Number(deposit.blockHeight),
      confirmations: deposit.status === 'reverted' || chainHead === null ? null : Math.max(0, chainHead - Number(deposit.blockHeight) + 1),
      finalityDepth: head?.finalityDepth ?? null,
    };
  });
}

/** Per chain and asset, what the user's deposit addresses hold pending and in custody. */
export async function getUserBalances(db: Queryable, userId: string): Promise<UserBalance[]> {
  const parts = new Map<string, { chain: string; part: 'pending' | 'confirmed' }>();
  for (const { chain, address } of await userDepositAddresses(db, userId)) {
    parts.set(chart.depositPending(chain, address), { chain, part: 'pending' });
    parts.set(chart.custody(chain, address), { chain, part: 'confirmed' });
  }
  const byChainAsset = new Map<string, UserBalance>();
  for (const held of await accountBalances(db, [...parts.keys()])) {
    const where = parts.get(held.account);
    if (!where) continue;
    const key = `${where.chain} ${held.asset}`;
    const balance = byChainAsset.get(key) ?? { chain: where.chain, asset: held.asset, scale: held.scale, pending: 0n, confirmed: 0n };
    balance[where.part] += held.balance;
    byChainAsset.set(key, balance);
  }
  return [...byChainAsset.values()].sort((a, b) => (a.chain === b.chain ? compare(a.asset, b.asset) : compare(a.chain, b.chain)));
}

/** Code-point order, as PostgreSQL's C collation sorts chains and asset codes. */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The CHOCO asset's scale when no asset row says otherwise (the first migration registers it at 18). */
const chocoScaleDefault = 18;

/** The user's CHOCO, from the ledger's balances (written in the append transaction, so never behind). */
export async function getUserChoco(db: Queryable, userId: string): Promise<{ balance: bigint; scale: number }> {
  const held = await accountBalances(db, [chart.userChoco(userId)]);
  const asset = await getAsset(db, 'CHOCO');
  return { balance: held.find((b) => b.asset === 'CHOCO')?.balance ?? 0n, scale: asset?.scale ?? chocoScaleDefault };
}
