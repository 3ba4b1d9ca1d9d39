// Sweeps (SPEC Flow 4): a credited deposit's custody moves from its deposit address to the
// treasury, in a transaction planned by the chain's adapter (chains/), signed through the
// chain-signatures signer and tracked to confirmation. Nothing here knows a chain's encoding.
//
// Crash safety: the signed transaction and the `sweep.submitted` entry commit before the
// broadcast, so a worker that dies anywhere after signing re-broadcasts the same transaction
// (same bytes, same id) on its retry; it never signs a second one for the same deposit.
// Sweeps of one address are serialized with a PostgreSQL advisory lock (they share its nonce
// on account chains, its coins on UTXO chains).
//
// Ledger:  sweep.submitted  custody:<chain>:<addr> → custody:<chain>:<addr>:sweeping  (amount)
//          sweep.confirmed  …:sweeping → treasury:<chain> (amount), custody → fees:<chain> (gas)
//          sweep.failed     …:sweeping → custody (amount) [+ custody → fees when a reverted tx paid gas]
//
// A native-asset sweep sends custody − the most its fee can cost (on EVM, gas × maxFeePerGas),
// and the chain takes the fee it actually charged: the difference stays on the address. Only
// the fee the chain names leaves custody, so that leftover stays in custody too (ledger =
// chain), and the next sweep of the address, which sends all of custody, takes it along
// (sweeps/sweeps.test.ts).
import { UnrecoverableError } from 'bullmq';
import { awaitConfirmations, signTransfer, type AssetSpec, type ChainAdapter, type ChainClient, type SignedTransaction } from '../chains/index.ts';
import { CodedError, firstRow, type Logger, type Pool, type PoolClient } from '../infra/index.ts';
import { chart, getEntry, sweepEntryKinds, type AppendRequest, type LedgerWriter } from '../ledger/index.ts';
import type { KeyReference, Signature, Signer } from '../signer/index.ts';
import { depositDetails } from '../ledger/index.ts';


/** How long one job attempt waits for the confirmations before it lets BullMQ retry. */
const trackTimeoutMsDefault = 120_000;
const pollIntervalMsDefault = 500;

/** Where and how deposits of one chain are swept. */
export interface SweepChain {
  adapter: ChainAdapter;
  rpcUrl: string;
  treasury: string;
  /** Blocks on top of the sweep's block before it counts as confirmed. */
  confirmations: number;
  trackTimeoutMs?: number;
  pollIntervalMs?: number;
  /** The ledger account that pays this chain's fees (a Solana fee payer's); by default the sender's custody. */
  feeAccount?: string;
  /** Signs payloads of operational keys (a Solana fee payer) from the keystore. */
  operational?: (name: string, bytes: Uint8Array) => Promise<Signature>;
}

export interface SweepContext {
  pool: Pool;
  writer: LedgerWriter;
  signer: Signer;
  /** Signs with a keystore key by name: payloads an account's own key signs (a NEAR account's sweep). */
  operational?: (name: string, bytes: Uint8Array) => Promise<Signature>;
  /** The chains sweeps run on, by chain name; a deposit of any other chain is not swept. */
  chains: ReadonlyMap<string, SweepChain>;
  logger: Logger;
}

export type SweepOutcome =
  | { status: 'confirmed'; amount: bigint; fee: bigint; txHash: string }
  | { status: 'skipped' | 'waiting_for_gas'; reason: string };

interface SweepRow {
  id: bigint;
  status: 'waiting_for_gas' | 'submitted' | 'confirmed' | 'failed' | 'skipped';
  amount: string | null;
  fee: string | null;
  tx_hash: string | null;
  raw_tx: string | null;
  submitted_entry_id: bigint | null;
  reason: string | null;
}

interface Plan {
  depositEntryId: bigint;
  userId: string;
  chain: string;
  address: string;
  asset: AssetSpec;
  custody: string;
  sweeping: string;
  key: KeyReference;
}

/** What one sweep needs of its chain: the adapter, a client on the configured node, the settings. */
interface Route {
  settings: SweepChain;
  client: ChainClient;
}

const sweepErrorCodes = ['ledger_refused', 'broadcast_refused', 'not_confirmed', 'transaction_failed'] as const;

/** A sweep step that did not finish; the job retries it (none of these is final). */
export class SweepError extends CodedError<(typeof sweepErrorCodes)[number]> {
  static readonly codes = sweepErrorCodes;
  override name = 'SweepError';
}

/** The sweep job for one credited deposit. */
export async function sweepDeposit(context: SweepContext, depositEntryId: bigint): Promise<SweepOutcome> {
  const { pool } = context;
  const deposit = await getEntry(pool, depositEntryId);
  if (!deposit) throw new UnrecoverableError(`deposit entry ${depositEntryId} does not exist`);
  const details = depositDetails(deposit);
  const { chain } = details;
  const settings = context.chains.get(chain);
  if (!settings) throw new UnrecoverableError(`no sweep settings for ${chain}: set its RPC URL and treasury address`);
  const { adapter } = settings;
  const { address } = details;
  const { rows: keys } = await pool.query<{ predecessor: string; path: string }>('SELECT predecessor, path FROM deposit_addresses WHERE chain = $1 AND address = $2', [chain, address]);
  if (!keys[0]) throw new UnrecoverableError(`${address} is not a deposit address`);
  const plan: Plan = {
    depositEntryId,
    userId: details.userId,
    chain,
    address,
    asset: details.contract === null ? adapter.nativeAsset : { code: details.asset, scale: await assetScale(pool, details.asset), contract: details.contract },
    custody: chart.custody(chain, address),
    sweeping: chart.sweeping(chain, address),
    key: { predecessor: keys[0].predecessor, path: keys[0].path, curve: adapter.curve },
  };

  // One sweep per address at a time, across workers: they share the address's nonce or coins.
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`sweep:${chain}:${address.toLowerCase()}`]);
    return await sweepLocked(context, { settings, client: adapter.connect({ rpcUrl: settings.rpcUrl }) }, plan, lock);
  } finally {
    await lock.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    lock.release();
  }
}

async function assetScale(pool: Pool, code: string): Promise<number> {
  const { rows } = await pool.query<{ scale: number }>('SELECT scale FROM assets WHERE code = $1', [code]);
  if (!rows[0]) throw new UnrecoverableError(`the asset ${code} is not registered`);
  return rows[0].scale;
}

async function sweepLocked(context: SweepContext, route: Route, plan: Plan, db: PoolClient): Promise<SweepOutcome> {
  const existing = await sweepRow(db, plan.depositEntryId);
  if (existing?.status === 'confirmed') return { status: 'confirmed', amount: BigInt(existing.amount!), fee: BigInt(existing.fee ?? '0'), txHash: existing.tx_hash! };
  if (existing?.status === 'skipped') return { status: 'skipped', reason: existing.reason ?? '' };
  if (existing?.status === 'submitted') return track(context, route, plan, existing);

  const submitted = await submit(context, route, plan, db, existing);
  if (!('id' in submitted)) return submitted;
  return track(context, route, plan, submitted);
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

/** Tokens (other than `except`) the address still holds in custody or pending: their sweeps need fees later. */
async function tokensStillToSweep(db: PoolClient, chain: string, address: string, except: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(DISTINCT s.code) AS n FROM balances b JOIN accounts a ON a.id = b.account_id JOIN assets s ON s.id = b.asset_id
      WHERE a.path IN ($1, $2) AND s.contract IS NOT NULL AND s.code <> $3 AND b.balance > 0`,
    [chart.custody(chain, address), chart.depositPending(chain, address), except],
  );
  return Number(rows[0]?.n ?? 0);
}

async function submit(
  context: SweepContext,
  route: Route,
  plan: Plan,
  db: PoolClient,
  previous: SweepRow | undefined,
): Promise<SweepRow | { status: 'skipped' | 'waiting_for_gas'; reason: string }> {
  const { adapter, treasury } = route.settings;
  const custody = await ledgerBalance(db, plan.custody, plan.asset.code);
  const settle = async (status: 'skipped' | 'waiting_for_gas', reason: string, extra?: (id: bigint) => Promise<void>) => {
    const { rows } = await db.query<{ id: bigint }>(
      `INSERT INTO sweeps (deposit_entry_id, user_id, chain, address, asset, treasury, status, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (deposit_entry_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, updated_at = now()
       RETURNING id`,
      [plan.depositEntryId.toString(), plan.userId, plan.chain, plan.address, plan.asset.code, treasury, status, reason],
    );
    await extra?.(firstRow(rows, `the sweep of deposit ${plan.depositEntryId}`).id);
    return { status, reason };
  };
  if (custody === 0n) return settle('skipped', `nothing left in ${plan.custody} for ${plan.asset.code} (swept with an earlier deposit)`);

  const native = plan.asset.contract === null;
  const outcome = await route.client.planTransfer({
    from: { address: plan.address, key: plan.key },
    to: treasury,
    asset: plan.asset,
    // All of custody (earlier sweeps' leftovers included), keeping fees back for tokens still to leave.
    amount: { all: true, cap: custody, ...(native ? { keepFeesForTransfers: await tokensStillToSweep(db, plan.chain, plan.address, plan.asset.code) } : {}) },
    // The fee is paid from what the ledger holds for this address, never from someone else's money.
    feeFundsMax: native ? custody : await ledgerBalance(db, plan.custody, adapter.feeAsset.code),
  });
  if (outcome.status === 'not_worth_it') return settle('skipped', outcome.reason);
  if (outcome.status === 'needs_fee_funds') {
    // Tokens move only with fee money. The request is for an operator: gas sent to a deposit
    // address would be seen (and credited) as the user's deposit, so no job sends it.
    const reason = `${outcome.reason}; refill requested`;
    return context.writer.transaction(async (t) =>
      settle('waiting_for_gas', reason, async (sweepId) => {
        await t.client.query(
          `INSERT INTO refill_requests (chain, address, asset, amount, reason, sweep_id) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sweep_id) DO NOTHING`,
          [plan.chain, plan.address, adapter.feeAsset.code, outcome.shortfall.toString(), `gas for the ${plan.asset.code} sweep of deposit ${plan.depositEntryId}`, sweepId.toString()],
        );
      }),
    );
  }
  const { unsigned } = outcome;
  // A chain's own operational signer (Solana's fee payer) first, else the keystore's (NEAR accounts).
  const operational = route.settings.operational ?? context.operational;
  const signed = await signTransfer({ adapter, unsigned, signer: context.signer, ...(operational ? { operational } : {}) });
  const nonce = typeof unsigned.body.nonce === 'number' ? unsigned.body.nonce : null;

  // Commit the signed transaction and its ledger entry first; broadcast after.
  const attempt = (previous ? 1 : 0) + 1;
  return context.writer.transaction(async (t) => {
    const request: AppendRequest = {
      kind: sweepEntryKinds.submitted,
      idempotencyKey: `${plan.chain}:${signed.id}:sweep.submitted`,
      sourceRef: signed.id,
      metadata: { userId: plan.userId, depositEntryId: plan.depositEntryId.toString(), address: plan.address, treasury, nonce, txHash: signed.id },
      postings: [{ source: plan.custody, destination: plan.sweeping, asset: plan.asset.code, amount: unsigned.amount }],
    };
    const [result] = await t.append([request]);
    if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new SweepError('ledger_refused', `the ledger refused ${request.idempotencyKey}: ${result?.status}`);
    const { rows } = await t.client.query<SweepRow>(
      `INSERT INTO sweeps (deposit_entry_id, user_id, chain, address, asset, treasury, amount, status, nonce, tx_hash, raw_tx, submitted_entry_id, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', $8, $9, $10, $11, $12)
       ON CONFLICT (deposit_entry_id) DO UPDATE SET amount = excluded.amount, status = 'submitted', reason = NULL, nonce = excluded.nonce,
         tx_hash = excluded.tx_hash, raw_tx = excluded.raw_tx, submitted_entry_id = excluded.submitted_entry_id, fee = NULL,
         settled_entry_id = NULL, attempts = sweeps.attempts + 1, updated_at = now()
       RETURNING id, status, amount::text, fee::text, tx_hash, raw_tx, submitted_entry_id, reason`,
      [plan.depositEntryId.toString(), plan.userId, plan.chain, plan.address, plan.asset.code, treasury, unsigned.amount.toString(), nonce, signed.id, signed.raw, result.entry.id.toString(), attempt],
    );
    return firstRow(rows, `the sweep of deposit ${plan.depositEntryId}`);
  });
}

/** Broadcasts (again, harmlessly, if it was already) and waits for the confirmations. */
async function track(context: SweepContext, route: Route, plan: Plan, row: SweepRow): Promise<SweepOutcome> {
  const signed: SignedTransaction = { id: row.tx_hash!, raw: row.raw_tx! };
  const sent = await route.client.broadcast(signed);
  if (sent.status === 'refused') {
    await fail(context, route, plan, row, `broadcast refused: ${sent.message}`, 0n);
    throw new SweepError('broadcast_refused', `sweep of deposit ${plan.depositEntryId}: broadcast refused (${sent.message}); will retry`);
  }
  const { settings } = route;
  const confirmed = await awaitConfirmations(route.client, signed.id, {
    confirmations: settings.confirmations,
    timeoutMs: settings.trackTimeoutMs ?? trackTimeoutMsDefault,
    pollIntervalMs: settings.pollIntervalMs ?? pollIntervalMsDefault,
  });
  if (!confirmed) throw new SweepError('not_confirmed', `sweep of deposit ${plan.depositEntryId}: ${signed.id} not confirmed yet; will check again`);
  if (!confirmed.success) {
    await fail(context, route, plan, row, `the transaction failed in block ${confirmed.height}`, confirmed.fee);
    throw new SweepError('transaction_failed', `sweep of deposit ${plan.depositEntryId}: transaction ${signed.id} failed; will retry`);
  }
  await confirm(context, route, plan, row, confirmed.fee, confirmed.height, confirmed.rentReclaimed ?? 0n);
  return { status: 'confirmed', amount: BigInt(row.amount!), fee: confirmed.fee, txHash: signed.id };
}

async function confirm(context: SweepContext, route: Route, plan: Plan, row: SweepRow, fee: bigint, blockNumber: bigint, rentReclaimed: bigint): Promise<void> {
  const feeAccount = route.settings.feeAccount ?? plan.custody;
  const feeAsset = route.settings.adapter.feeAsset.code;
  await context.writer.transaction(async (t) => {
    const postings = [{ source: plan.sweeping, destination: chart.treasury(plan.chain), asset: plan.asset.code, amount: BigInt(row.amount!) }];
    // Rent comes back from (or goes into) accounts outside the ledger: the chain's world.
    if (rentReclaimed > 0n) postings.push({ source: chart.world(plan.chain), destination: feeAccount, asset: feeAsset, amount: rentReclaimed });
    if (fee > 0n) postings.push({ source: feeAccount, destination: chart.fees(plan.chain), asset: feeAsset, amount: fee });
    if (rentReclaimed < 0n) postings.push({ source: feeAccount, destination: chart.world(plan.chain), asset: feeAsset, amount: -rentReclaimed });
    const request: AppendRequest = {
      kind: sweepEntryKinds.confirmed,
      idempotencyKey: `${plan.chain}:${row.tx_hash}:sweep.confirmed`,
      sourceRef: row.tx_hash!,
      metadata: { userId: plan.userId, depositEntryId: plan.depositEntryId.toString(), txHash: row.tx_hash, blockNumber: Number(blockNumber), fee: fee.toString(), ...(rentReclaimed !== 0n ? { rentReclaimed: rentReclaimed.toString() } : {}) },
      postings,
    };
    const [result] = await t.append([request]);
    if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new SweepError('ledger_refused', `the ledger refused ${request.idempotencyKey}: ${JSON.stringify(result, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
    await t.client.query(`UPDATE sweeps SET status = 'confirmed', fee = $2, settled_entry_id = $3, updated_at = now() WHERE id = $1`, [row.id.toString(), fee.toString(), result.entry.id.toString()]);
  });
}

/** Gives the amount back to custody (and books the fee a failed transaction burned); the job retries. */
async function fail(context: SweepContext, route: Route, plan: Plan, row: SweepRow, reason: string, fee: bigint): Promise<void> {
  const feeAsset = route.settings.adapter.feeAsset.code;
  await context.writer.transaction(async (t) => {
    const base = {
      kind: sweepEntryKinds.failed,
      idempotencyKey: `${plan.chain}:${row.tx_hash}:sweep.failed`,
      sourceRef: row.tx_hash!,
      metadata: { userId: plan.userId, depositEntryId: plan.depositEntryId.toString(), txHash: row.tx_hash, reason, fee: fee.toString() },
    };
    const back = { source: plan.sweeping, destination: plan.custody, asset: plan.asset.code, amount: BigInt(row.amount!) };
    const feeAccount = route.settings.feeAccount ?? plan.custody;
    const request: AppendRequest =
      fee > 0n ? { ...base, postings: [back, { source: feeAccount, destination: chart.fees(plan.chain), asset: feeAsset, amount: fee }] } : { ...base, reverses: row.submitted_entry_id!, postings: [back] };
    const [result] = await t.append([request]);
    if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new SweepError('ledger_refused', `the ledger refused ${request.idempotencyKey}`);
    await t.client.query(`UPDATE sweeps SET status = 'failed', reason = $2, fee = $3, settled_entry_id = $4, updated_at = now() WHERE id = $1`, [
      row.id.toString(),
      reason,
      fee.toString(),
      result.entry.id.toString(),
    ]);
  });
  context.logger.warn('sweep failed; the job will retry', { depositEntryId: plan.depositEntryId.toString(), txHash: row.tx_hash, reason });
}
