// Sweeps (SPEC Flow 4): a credited deposit's custody moves from its deposit address to the
// treasury, in a transaction signed through the chain-signatures signer and tracked to
// confirmation. EVM only for now (the other chains' indexers do not exist yet).
//
// Crash safety: the signed transaction and the `sweep.submitted` entry commit before the
// broadcast, so a worker that dies anywhere after signing re-broadcasts the same transaction
// (same nonce, same hash) on its retry; it never signs a second one for the same deposit.
// Sweeps of one address are serialized with a PostgreSQL advisory lock (they share its nonce).
//
// Ledger:  sweep.submitted  custody:<chain>:<addr> → custody:<chain>:<addr>:sweeping  (amount)
//          sweep.confirmed  …:sweeping → treasury:<chain> (amount), custody → fees:<chain> (gas)
//          sweep.failed     …:sweeping → custody (amount) [+ custody → fees when a reverted tx paid gas]
//
// An ETH sweep sends custody − gas × maxFeePerGas (the most its gas can cost), and the chain
// burns gas × the effective price: the difference, (maxFeePerGas − effective price) × gas, stays
// on the address. Only the fee the receipt names leaves custody, so that leftover stays in
// custody too (ledger = chain), and the next ETH sweep of the address, which sends all of
// custody, takes it along (jobs/sweeps.test.ts).
import { UnrecoverableError } from 'bullmq';
import {
  createPublicClient,
  encodeFunctionData,
  erc20Abi,
  http,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionSerializableEIP1559,
} from 'viem';
import { awaitConfirmations, broadcastStored, enqueue, type Logger, type Pool, type PoolClient } from '../infra/index.ts';
import { getEntry, type AppendRequest, type LedgerWriter } from '../ledger/index.ts';
import { signEvmTransaction, type Signer } from '../signer/index.ts';
import { depositDetails } from './deposit-entry.ts';

export const sweepEntryKinds = { submitted: 'sweep.submitted', confirmed: 'sweep.confirmed', failed: 'sweep.failed' } as const;

const ethTransferGas = 21_000n;
/** Gas kept back by an ETH sweep for each token still to be swept from the same address. */
const tokenTransferGasReserve = 80_000n;

export interface EvmSweepSettings {
  rpcUrl: string;
  treasury: Address;
  /** Blocks on top of the sweep's block before it counts as confirmed. */
  confirmations: number;
  /** How long one job attempt waits for the receipt before it lets BullMQ retry. */
  trackTimeoutMs?: number;
  pollIntervalMs?: number;
}

export interface SweepContext {
  pool: Pool;
  writer: LedgerWriter;
  signer: Signer;
  evm: EvmSweepSettings | null;
  logger: Logger;
}

export type SweepOutcome =
  | { status: 'confirmed'; amount: bigint; fee: bigint; txHash: Hex }
  | { status: 'skipped' | 'waiting_for_gas'; reason: string };

interface SweepRow {
  id: bigint;
  status: 'waiting_for_gas' | 'submitted' | 'confirmed' | 'failed' | 'skipped';
  amount: string | null;
  fee: string | null;
  tx_hash: Hex | null;
  raw_tx: Hex | null;
  submitted_entry_id: bigint | null;
  reason: string | null;
}

interface Plan {
  depositEntryId: bigint;
  userId: string;
  chain: string;
  address: Address;
  asset: string;
  contract: Address | null;
  custody: string;
  sweeping: string;
  key: { predecessor: string; path: string; curve: 'secp256k1' };
}

export class SweepError extends Error {
  override name = 'SweepError';
}

/** The sweep job for one credited deposit. */
export async function sweepDeposit(context: SweepContext, depositEntryId: bigint): Promise<SweepOutcome> {
  const { pool, evm } = context;
  const deposit = await getEntry(pool, depositEntryId);
  if (!deposit) throw new UnrecoverableError(`deposit entry ${depositEntryId} does not exist`);
  const details = depositDetails(deposit);
  const { chain } = details;
  if (chain !== 'ethereum') throw new UnrecoverableError(`sweeps of ${chain} are not supported yet`);
  if (!evm) throw new UnrecoverableError('no EVM sweep settings: set EVM_RPC_URL and EVM_TREASURY_ADDRESS');
  const address = details.address as Address;
  const { rows: keys } = await pool.query<{ predecessor: string; path: string }>('SELECT predecessor, path FROM deposit_addresses WHERE chain = $1 AND address = $2', [chain, address]);
  if (!keys[0]) throw new UnrecoverableError(`${address} is not a deposit address`);
  const plan: Plan = {
    depositEntryId,
    userId: details.userId,
    chain,
    address,
    asset: details.asset,
    contract: details.contract as Address | null,
    custody: `custody:${chain}:${address}`,
    sweeping: `custody:${chain}:${address}:sweeping`,
    key: { predecessor: keys[0].predecessor, path: keys[0].path, curve: 'secp256k1' },
  };

  // One sweep per address at a time, across workers: they share the address's nonce.
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`sweep:${chain}:${address.toLowerCase()}`]);
    return await sweepLocked(context, evm, plan, lock);
  } finally {
    await lock.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    lock.release();
  }
}

async function sweepLocked(context: SweepContext, evm: EvmSweepSettings, plan: Plan, db: PoolClient): Promise<SweepOutcome> {
  const client = createPublicClient({ transport: http(evm.rpcUrl, { retryCount: 2, timeout: 10_000 }) }) as PublicClient;
  const existing = await sweepRow(db, plan.depositEntryId);
  if (existing?.status === 'confirmed') return { status: 'confirmed', amount: BigInt(existing.amount!), fee: BigInt(existing.fee ?? '0'), txHash: existing.tx_hash! };
  if (existing?.status === 'skipped') return { status: 'skipped', reason: existing.reason ?? '' };
  if (existing?.status === 'submitted') return track(context, evm, client, plan, existing);

  const submitted = await submit(context, evm, client, plan, db, existing);
  if (!('id' in submitted)) return submitted;
  return track(context, evm, client, plan, submitted);
}

async function sweepRow(db: PoolClient | Pool, depositEntryId: bigint): Promise<SweepRow | undefined> {
  const { rows } = await db.query<SweepRow>(
    'SELECT id, status, amount::text, fee::text, tx_hash, raw_tx, submitted_entry_id, reason FROM sweeps WHERE deposit_entry_id = $1',
    [depositEntryId.toString()],
  );
  return rows[0];
}

async function ledgerBalance(db: PoolClient, account: string, asset: string): Promise<bigint> {
  const { rows } = await db.query<{ balance: string }>(
    `SELECT b.balance::text FROM balances b JOIN accounts a ON a.id = b.account_id JOIN assets s ON s.id = b.asset_id WHERE a.path = $1 AND s.code = $2`,
    [account, asset],
  );
  return BigInt(rows[0]?.balance ?? '0');
}

/** Tokens (other than `except`) the address still holds in custody or pending: their sweeps need gas later. */
async function tokensStillToSweep(db: PoolClient, chain: string, address: string, except: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(DISTINCT s.code) AS n FROM balances b JOIN accounts a ON a.id = b.account_id JOIN assets s ON s.id = b.asset_id
      WHERE a.path IN ($1, $2) AND s.contract IS NOT NULL AND s.code <> $3 AND b.balance > 0`,
    [`custody:${chain}:${address}`, `deposits:${chain}:${address}:pending`, except],
  );
  return Number(rows[0]?.n ?? 0);
}

async function submit(
  context: SweepContext,
  evm: EvmSweepSettings,
  client: PublicClient,
  plan: Plan,
  db: PoolClient,
  previous: SweepRow | undefined,
): Promise<SweepRow | { status: 'skipped' | 'waiting_for_gas'; reason: string }> {
  const custody = await ledgerBalance(db, plan.custody, plan.asset);
  const settle = async (status: 'skipped' | 'waiting_for_gas', reason: string, extra?: (id: bigint) => Promise<void>) => {
    const { rows } = await db.query<{ id: bigint }>(
      `INSERT INTO sweeps (deposit_entry_id, user_id, chain, address, asset, treasury, status, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (deposit_entry_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, updated_at = now()
       RETURNING id`,
      [plan.depositEntryId.toString(), plan.userId, plan.chain, plan.address, plan.asset, evm.treasury, status, reason],
    );
    await extra?.(rows[0]!.id);
    return { status, reason };
  };
  if (custody === 0n) return settle('skipped', `nothing left in ${plan.custody} for ${plan.asset} (swept with an earlier deposit)`);

  const chainId = await client.getChainId();
  const fees = await client.estimateFeesPerGas();
  const maxFeePerGas = fees.maxFeePerGas;
  const maxPriorityFeePerGas = fees.maxPriorityFeePerGas;
  const nonce = await client.getTransactionCount({ address: plan.address, blockTag: 'pending' });
  const ethOnChain = await client.getBalance({ address: plan.address });
  const ethInCustody = plan.asset === 'ETH' ? custody : await ledgerBalance(db, plan.custody, 'ETH');

  let tx: TransactionSerializableEIP1559;
  let amount: bigint;
  if (plan.contract === null) {
    // ETH: value = custody (all of it, earlier sweeps' leftovers included) − the most the gas can
    // cost, keeping gas back for tokens still to leave this address.
    const reserve = (ethTransferGas + BigInt(await tokensStillToSweep(db, plan.chain, plan.address, plan.asset)) * tokenTransferGasReserve) * maxFeePerGas;
    const spendable = custody < ethOnChain ? custody : ethOnChain;
    amount = spendable - reserve;
    if (amount <= 0n) return settle('skipped', `the ${spendable} wei held do not cover the gas (${reserve} wei at most)`);
    tx = { type: 'eip1559', chainId, nonce, to: evm.treasury, value: amount, gas: ethTransferGas, maxFeePerGas, maxPriorityFeePerGas };
  } else {
    const onChain = await client.readContract({ address: plan.contract, abi: erc20Abi, functionName: 'balanceOf', args: [plan.address] });
    amount = custody < onChain ? custody : onChain;
    if (amount === 0n) return settle('skipped', `the address holds none of ${plan.asset} on chain`);
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [evm.treasury, amount] });
    const gas = ((await client.estimateGas({ account: plan.address, to: plan.contract, data })) * 12n) / 10n;
    const needed = gas * maxFeePerGas;
    const gasHeld = ethOnChain < ethInCustody ? ethOnChain : ethInCustody;
    if (gasHeld < needed) {
      // Tokens move only with gas; ask for a refill (issue #7 fulfils it and asks again for the sweep).
      const reason = `needs ${needed} wei of gas, holds ${gasHeld} (on chain ${ethOnChain}, in custody ${ethInCustody}); refill requested`;
      return context.writer.transaction(async (t) => {
        const outcome = await settle('waiting_for_gas', reason, async (sweepId) => {
          await t.client.query(
            `INSERT INTO refill_requests (chain, address, asset, amount, reason, sweep_id) VALUES ($1, $2, 'ETH', $3, $4, $5) ON CONFLICT (sweep_id) DO NOTHING`,
            [plan.chain, plan.address, (needed - gasHeld).toString(), `gas for the ${plan.asset} sweep of deposit ${plan.depositEntryId}`, sweepId.toString()],
          );
          await enqueue(t.client, [{ queue: 'refills', name: 'refill-deposit-address', dedupeKey: `refill:sweep:${sweepId}`, payload: { sweepId: sweepId.toString() } }]);
        });
        return outcome;
      });
    }
    tx = { type: 'eip1559', chainId, nonce, to: plan.contract, value: 0n, data, gas, maxFeePerGas, maxPriorityFeePerGas };
  }

  const { raw, hash: txHash } = await signEvmTransaction(context.signer, plan.key, tx);

  // Commit the signed transaction and its ledger entry first; broadcast after.
  const attempt = (previous ? 1 : 0) + 1;
  return context.writer.transaction(async (t) => {
    const request: AppendRequest = {
      kind: sweepEntryKinds.submitted,
      idempotencyKey: `${plan.chain}:${txHash}:sweep.submitted`,
      sourceRef: txHash,
      metadata: { userId: plan.userId, depositEntryId: plan.depositEntryId.toString(), address: plan.address, treasury: evm.treasury, nonce, txHash },
      postings: [{ source: plan.custody, destination: plan.sweeping, asset: plan.asset, amount }],
    };
    const [result] = await t.append([request]);
    if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new SweepError(`the ledger refused ${request.idempotencyKey}: ${result?.status}`);
    const { rows } = await t.client.query<SweepRow>(
      `INSERT INTO sweeps (deposit_entry_id, user_id, chain, address, asset, treasury, amount, status, nonce, tx_hash, raw_tx, submitted_entry_id, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', $8, $9, $10, $11, $12)
       ON CONFLICT (deposit_entry_id) DO UPDATE SET amount = excluded.amount, status = 'submitted', reason = NULL, nonce = excluded.nonce,
         tx_hash = excluded.tx_hash, raw_tx = excluded.raw_tx, submitted_entry_id = excluded.submitted_entry_id, fee = NULL,
         settled_entry_id = NULL, attempts = sweeps.attempts + 1, updated_at = now()
       RETURNING id, status, amount::text, fee::text, tx_hash, raw_tx, submitted_entry_id, reason`,
      [plan.depositEntryId.toString(), plan.userId, plan.chain, plan.address, plan.asset, evm.treasury, amount.toString(), nonce, txHash, raw, result.entry.id.toString(), attempt],
    );
    return rows[0]!;
  });
}

/** Broadcasts (again, harmlessly, if it was already) and waits for the confirmations. */
async function track(context: SweepContext, evm: EvmSweepSettings, client: PublicClient, plan: Plan, row: SweepRow): Promise<SweepOutcome> {
  const txHash = row.tx_hash!;
  const sent = await broadcastStored(client, row.raw_tx!, txHash);
  if (sent.status === 'refused') {
    await fail(context, plan, row, `broadcast refused: ${sent.message}`, 0n);
    throw new SweepError(`sweep of deposit ${plan.depositEntryId}: broadcast refused (${sent.message}); will retry`);
  }
  const confirmed = await awaitConfirmations(client, txHash, { confirmations: evm.confirmations, timeoutMs: evm.trackTimeoutMs ?? 120_000, pollIntervalMs: evm.pollIntervalMs ?? 500 });
  if (!confirmed) throw new SweepError(`sweep of deposit ${plan.depositEntryId}: ${txHash} not confirmed yet; will check again`);
  if (!confirmed.success) {
    await fail(context, plan, row, `the transaction reverted in block ${confirmed.blockNumber}`, confirmed.fee);
    throw new SweepError(`sweep of deposit ${plan.depositEntryId}: transaction ${txHash} reverted; will retry`);
  }
  await confirm(context, plan, row, confirmed.fee, confirmed.blockNumber);
  return { status: 'confirmed', amount: BigInt(row.amount!), fee: confirmed.fee, txHash };
}

async function confirm(context: SweepContext, plan: Plan, row: SweepRow, fee: bigint, blockNumber: bigint): Promise<void> {
  await context.writer.transaction(async (t) => {
    const postings = [{ source: plan.sweeping, destination: `treasury:${plan.chain}`, asset: plan.asset, amount: BigInt(row.amount!) }];
    if (fee > 0n) postings.push({ source: plan.custody, destination: `fees:${plan.chain}`, asset: 'ETH', amount: fee });
    const request: AppendRequest = {
      kind: sweepEntryKinds.confirmed,
      idempotencyKey: `${plan.chain}:${row.tx_hash}:sweep.confirmed`,
      sourceRef: row.tx_hash!,
      metadata: { userId: plan.userId, depositEntryId: plan.depositEntryId.toString(), txHash: row.tx_hash, blockNumber: Number(blockNumber), fee: fee.toString() },
      postings,
    };
    const [result] = await t.append([request]);
    if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new SweepError(`the ledger refused ${request.idempotencyKey}: ${JSON.stringify(result, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
    await t.client.query(`UPDATE sweeps SET status = 'confirmed', fee = $2, settled_entry_id = $3, updated_at = now() WHERE id = $1`, [row.id.toString(), fee.toString(), result.entry.id.toString()]);
  });
}

/** Gives the amount back to custody (and books gas a reverted transaction burned); the job retries. */
async function fail(context: SweepContext, plan: Plan, row: SweepRow, reason: string, fee: bigint): Promise<void> {
  await context.writer.transaction(async (t) => {
    const base = {
      kind: sweepEntryKinds.failed,
      idempotencyKey: `${plan.chain}:${row.tx_hash}:sweep.failed`,
      sourceRef: row.tx_hash!,
      metadata: { userId: plan.userId, depositEntryId: plan.depositEntryId.toString(), txHash: row.tx_hash, reason, fee: fee.toString() },
    };
    const back = { source: plan.sweeping, destination: plan.custody, asset: plan.asset, amount: BigInt(row.amount!) };
    const request: AppendRequest =
      fee > 0n ? { ...base, postings: [back, { source: plan.custody, destination: `fees:${plan.chain}`, asset: 'ETH', amount: fee }] } : { ...base, reverses: row.submitted_entry_id!, postings: [back] };
    const [result] = await t.append([request]);
    if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new SweepError(`the ledger refused ${request.idempotencyKey}`);
    await t.client.query(`UPDATE sweeps SET status = 'failed', reason = $2, fee = $3, settled_entry_id = $4, updated_at = now() WHERE id = $1`, [
      row.id.toString(),
      reason,
      fee.toString(),
      result.entry.id.toString(),
    ]);
  });
  context.logger.warn('sweep failed; the job will retry', { depositEntryId: plan.depositEntryId.toString(), txHash: row.tx_hash, reason });
}
