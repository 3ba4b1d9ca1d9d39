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
import { CodedError, run, runFirst, runOne, sql, sqlBuilder, withAdvisoryLock, type Logger, type Pool, type PoolClient } from '../infra/index.ts';
import { accountBalance, accountBalances, chart, depositDetails, getAsset, getEntry, sweepEntryKinds, type AppendRequest, type LedgerWriter } from '../ledger/index.ts';
import type { KeyReference, Signature, Signer } from '../signer/index.ts';
import { depositAddressKey } from '../users/index.ts';


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

const sweepColumns = ['id', 'status', 'amount', 'fee', 'tx_hash', 'raw_tx', 'submitted_entry_id', 'reason'] as const;
type SweepRow = NonNullable<Awaited<ReturnType<typeof sweepRow>>>;

/** A sweep whose transaction is signed and stored: submitted, or settled since. */
interface SignedSweep {
  id: bigint;
  amount: bigint;
  txHash: string;
  rawTx: string;
  submittedEntryId: bigint;
}

/** The submitted row's transaction; `submit` writes all of it in one statement, so a gap is a broken row. */
function signedSweep(row: SweepRow): SignedSweep {
  if (row.amount === null || row.tx_hash === null || row.raw_tx === null || row.submitted_entry_id === null) {
    throw new UnrecoverableError(`sweep ${row.id} is ${row.status} but has no stored transaction`);
  }
  return { id: row.id, amount: BigInt(row.amount), txHash: row.tx_hash, rawTx: row.raw_tx, submittedEntryId: row.submitted_entry_id };
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

const sweepErrorCodes = ['ledger_refused', 'broadcast_refused', 'not_confirmed', 'transaction_failed', 'already_in_sweep'] as const;

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
  const key = await depositAddressKey(pool, chain, address);
  if (!key) throw new UnrecoverableError(`${address} is not a deposit address`);
  const plan: Plan = {
    depositEntryId,
    userId: details.userId,
    chain,
    address,
    asset: details.contract === null ? adapter.nativeAsset : { code: details.asset, scale: await assetScale(pool, details.asset), contract: details.contract },
    custody: chart.custody(chain, address),
    sweeping: chart.sweeping(chain, address),
    key: { predecessor: key.predecessor, path: key.path, curve: adapter.curve },
  };

  // One sweep per address at a time, across workers: they share the address's nonce or coins.
  return withAdvisoryLock(pool, `sweep:${chain}:${address.toLowerCase()}`, (lock) =>
    sweepLocked(context, { settings, client: adapter.connect({ rpcUrl: settings.rpcUrl }) }, plan, lock),
  );
}

async function assetScale(pool: Pool, code: string): Promise<number> {
  const asset = await getAsset(pool, code);
  if (!asset) throw new UnrecoverableError(`the asset ${code} is not registered`);
  return asset.scale;
}

async function sweepLocked(context: SweepContext, route: Route, plan: Plan, db: PoolClient): Promise<SweepOutcome> {
  const existing = await sweepRow(db, plan.depositEntryId);
  if (existing?.status === 'confirmed') {
    const { amount, txHash } = signedSweep(existing);
    return { status: 'confirmed', amount, fee: BigInt(existing.fee ?? '0'), txHash };
  }
  if (existing?.status === 'skipped') return { status: 'skipped', reason: existing.reason ?? '' };
  if (existing?.status === 'submitted') return track(context, route, plan, signedSweep(existing));

  const submitted = await submit(context, route, plan, db, existing);
  if (!('id' in submitted)) return submitted;
  return track(context, route, plan, signedSweep(submitted));
}

async function sweepRow(db: PoolClient | Pool, depositEntryId: bigint) {
  return runFirst(db, sqlBuilder.selectFrom('sweeps').select(sweepColumns).where('deposit_entry_id', '=', depositEntryId));
}

/** Tokens (other than `except`) the address still holds in custody or pending: their sweeps need fees later. */
async function tokensStillToSweep(db: PoolClient, chain: string, address: string, except: string): Promise<number> {
  const held = await accountBalances(db, [chart.custody(chain, address), chart.depositPending(chain, address)]);
  return new Set(held.filter((b) => b.contract !== null && b.asset !== except && b.balance > 0n).map((b) => b.asset)).size;
}

async function submit(
  context: SweepContext,
  route: Route,
  plan: Plan,
  db: PoolClient,
  previous: SweepRow | undefined,
): Promise<SweepRow | { status: 'skipped' | 'waiting_for_gas'; reason: string }> {
  const { adapter, treasury } = route.settings;
  const custody = await accountBalance(db, plan.custody, plan.asset.code);
  const settle = async (status: 'skipped' | 'waiting_for_gas', reason: string, extra?: (id: bigint) => Promise<void>) => {
    const { id } = await runOne(
      db,
      sqlBuilder
        .insertInto('sweeps')
        .values({ deposit_entry_id: plan.depositEntryId, user_id: plan.userId, chain: plan.chain, address: plan.address, asset: plan.asset.code, treasury, status, reason })
        .onConflict((conflict) => conflict.column('deposit_entry_id').doUpdateSet((eb) => ({ status: eb.ref('excluded.status'), reason: eb.ref('excluded.reason'), updated_at: sql<Date>`now()` })))
        .returning('id'),
    );
    await extra?.(id);
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
    feeFundsMax: native ? custody : await accountBalance(db, plan.custody, adapter.feeAsset.code),
  });
  if (outcome.status === 'not_worth_it') return settle('skipped', outcome.reason);
  if (outcome.status === 'needs_fee_funds') {
    // Tokens move only with fee money. The request is for an operator: gas sent to a deposit
    // address would be seen (and credited) as the user's deposit, so no job sends it.
    const reason = `${outcome.reason}; refill requested`;
    return context.writer.transaction(async (t) =>
      settle('waiting_for_gas', reason, async (sweepId) => {
        await run(
          t.client,
          sqlBuilder
            .insertInto('refill_requests')
            .values({ chain: plan.chain, address: plan.address, asset: adapter.feeAsset.code, amount: outcome.shortfall, reason: `gas for the ${plan.asset.code} sweep of deposit ${plan.depositEntryId}`, sweep_id: sweepId })
            .onConflict((conflict) => conflict.column('sweep_id').doNothing()),
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
    return runOne(
      t.client,
      sqlBuilder
        .insertInto('sweeps')
        .values({
          deposit_entry_id: plan.depositEntryId,
          user_id: plan.userId,
          chain: plan.chain,
          address: plan.address,
          asset: plan.asset.code,
          treasury,
          amount: unsigned.amount,
          status: 'submitted',
          nonce: nonce === null ? null : BigInt(nonce),
          tx_hash: signed.id,
          raw_tx: signed.raw,
          submitted_entry_id: result.entry.id,
          attempts: attempt,
        })
        .onConflict((conflict) =>
          conflict.column('deposit_entry_id').doUpdateSet((eb) => ({
            amount: eb.ref('excluded.amount'),
            status: 'submitted',
            reason: null,
            nonce: eb.ref('excluded.nonce'),
            tx_hash: eb.ref('excluded.tx_hash'),
            raw_tx: eb.ref('excluded.raw_tx'),
            submitted_entry_id: eb.ref('excluded.submitted_entry_id'),
            fee: null,
            settled_entry_id: null,
            attempts: sql<number>`sweeps.attempts + 1`,
            updated_at: sql<Date>`now()`,
          })),
        )
        .returning(sweepColumns),
    );
  });
}

/** Broadcasts (again, harmlessly, if it was already) and waits for the confirmations. */
async function track(context: SweepContext, route: Route, plan: Plan, row: SignedSweep): Promise<SweepOutcome> {
  const signed: SignedTransaction = { id: row.txHash, raw: row.rawTx };
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
  return { status: 'confirmed', amount: row.amount, fee: confirmed.fee, txHash: signed.id };
}

async function confirm(context: SweepContext, route: Route, plan: Plan, row: SignedSweep, fee: bigint, blockNumber: bigint, rentReclaimed: bigint): Promise<void> {
  const feeAccount = route.settings.feeAccount ?? plan.custody;
  const feeAsset = route.settings.adapter.feeAsset.code;
  await context.writer.transaction(async (t) => {
    const postings = [{ source: plan.sweeping, destination: chart.treasury(plan.chain), asset: plan.asset.code, amount: row.amount }];
    // Rent comes back from (or goes into) accounts outside the ledger: the chain's world.
    if (rentReclaimed > 0n) postings.push({ source: chart.world(plan.chain), destination: feeAccount, asset: feeAsset, amount: rentReclaimed });
    if (fee > 0n) postings.push({ source: feeAccount, destination: chart.fees(plan.chain), asset: feeAsset, amount: fee });
    if (rentReclaimed < 0n) postings.push({ source: feeAccount, destination: chart.world(plan.chain), asset: feeAsset, amount: -rentReclaimed });
    const request: AppendRequest = {
      kind: sweepEntryKinds.confirmed,
      idempotencyKey: `${plan.chain}:${row.txHash}:sweep.confirmed`,
      sourceRef: row.txHash,
      metadata: { userId: plan.userId, depositEntryId: plan.depositEntryId.toString(), txHash: row.txHash, blockNumber: Number(blockNumber), fee: fee.toString(), ...(rentReclaimed !== 0n ? { rentReclaimed: rentReclaimed.toString() } : {}) },
      postings,
    };
    const [result] = await t.append([request]);
    if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new SweepError('ledger_refused', `the ledger refused ${request.idempotencyKey}: ${JSON.stringify(result, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
    await run(t.client, sqlBuilder.updateTable('sweeps').set({ status: 'confirmed', fee, settled_entry_id: result.entry.id, updated_at: sql<Date>`now()` }).where('id', '=', row.id));
  });
}

/** Gives the amount back to custody (and books the fee a failed transaction burned); the job retries. */
async function fail(context: SweepContext, route: Route, plan: Plan, row: SignedSweep, reason: string, fee: bigint): Promise<void> {
  const feeAsset = route.settings.adapter.feeAsset.code;
  await context.writer.transaction(async (t) => {
    const base = {
      kind: sweepEntryKinds.failed,
      idempotencyKey: `${plan.chain}:${row.txHash}:sweep.failed`,
      sourceRef: row.txHash,
      metadata: { userId: plan.userId, depositEntryId: plan.depositEntryId.toString(), txHash: row.txHash, reason, fee: fee.toString() },
    };
    const back = { source: plan.sweeping, destination: plan.custody, asset: plan.asset.code, amount: row.amount };
    const feeAccount = route.settings.feeAccount ?? plan.custody;
    const request: AppendRequest =
      fee > 0n ? { ...base, postings: [back, { source: feeAccount, destination: chart.fees(plan.chain), asset: feeAsset, amount: fee }] } : { ...base, reverses: row.submittedEntryId, postings: [back] };
    const [result] = await t.append([request]);
    if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new SweepError('ledger_refused', `the ledger refused ${request.idempotencyKey}`);
    await run(t.client, sqlBuilder.updateTable('sweeps').set({ status: 'failed', reason, fee, settled_entry_id: result.entry.id, updated_at: sql<Date>`now()` }).where('id', '=', row.id));
  });
  context.logger.warn('sweep failed; the job will retry', { depositEntryId: plan.depositEntryId.toString(), txHash: row.txHash, reason });
}
