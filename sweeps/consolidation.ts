// Consolidation sweeps for UTXO chains (Bitcoin): the confirmed, credited deposit UTXOs of many
// deposit addresses leave in ONE transaction to the treasury, as exchanges do to keep fees down.
// A credited deposit's `sweep-deposit` job does not move money here: it asks for a
// `consolidate` job of its chain at the end of the current batch window (the outbox dedupes one
// job per chain and window), so a UTXO waits at most the window for company.
//
// One consolidation per chain at a time (a PostgreSQL advisory lock), and a UTXO is picked only
// while it has no live sweep row: no UTXO is ever spent twice in the books. The order is the
// seam's: plan, sign (one BIP143 digest per input through the Signer), commit the signed bytes
// with `sweep.submitted`, broadcast, follow, book. A crash anywhere after the commit re-broadcasts
// the stored bytes; a transaction dropped by a reorg and refused on re-broadcast (its inputs
// spent by another, or gone) is failed back to custody and its UTXOs are planned again.
//
// Ledger, per input (deposit):
//   sweep.submitted  custody:<chain>:<addr> → custody:<chain>:<addr>:sweeping   (UTXO value)
//   sweep.confirmed  …:sweeping → treasury:<chain> (value − fee share), …:sweeping → fees:<chain> (fee share)
//   sweep.failed     …:sweeping → custody (value), reversing the submitted entry
// The fee (inputs − outputs, exact when signed) is split across the inputs in proportion to
// their value, floor division, the remainder one unit each to the first inputs in transaction
// order: the treasury's account equals the treasury's output on chain.
import { UnrecoverableError } from 'bullmq';
import { signTransfer, type BitcoinChainClient, type ConsolidationInput, type SignedTransaction, type UtxoChainAdapter } from '../chains/index.ts';
import { creditDecisions } from '../credits/index.ts';
import { enqueue, run, sql, sqlBuilder, withAdvisoryLock, type Logger, type Pool, type PoolClient } from '../infra/index.ts';
import { catchUp, confirmedDeposits, depositDetails, depositsProjection, getEntry, sweepEntryKinds, type AppendRequest, type AppendResult, type LedgerWriter } from '../ledger/index.ts';
import { compressSecp256k1, type Signer } from '../signer/index.ts';
import { depositAddressKeys } from '../users/index.ts';
import { SweepError, sweepDeposit, type SweepChain, type SweepContext, type SweepOutcome } from './sweeps.ts';

/** Inputs per consolidation transaction; the rest wait for the next one (chains/bitcoin bounds it at 250). */
const inputsPerTransactionMax = 100;
/** Confirmed deposits read per page while looking for ready UTXOs. */
const readyScanPageSize = 500;

export interface ConsolidationChain extends Omit<SweepChain, 'adapter'> {
  adapter: UtxoChainAdapter;
  batchWindowSeconds: number;
}

export interface ConsolidationContext {
  pool: Pool;
  writer: LedgerWriter;
  signer: Signer;
  chains: ReadonlyMap<string, ConsolidationChain>;
  logger: Logger;
}

export interface ConsolidationReport {
  chain: string;
  submitted: { txid: string; inputs: number; feeSat: string } | null;
  confirmed: string[];
  failed: string[];
  skipped: number;
  /** Transactions still waiting for their confirmations (the job runs again). */
  following: string[];
}

interface ReadyUtxo {
  entryId: bigint;
  userId: string;
  address: string;
  amount: bigint;
  txHash: string;
  vout: number;
  key: { predecessor: string; path: string };
  publicKey: string;
}

const liveSweeps = sqlBuilder
  .selectFrom('sweeps')
  .select(['id', 'deposit_entry_id', 'address', 'amount', 'fee', 'tx_hash', 'raw_tx', 'submitted_entry_id'])
  .where('status', '=', 'submitted')
  .orderBy('tx_hash')
  .orderBy('id');

interface LiveRow {
  id: bigint;
  depositEntryId: bigint;
  address: string;
  amount: bigint;
  fee: bigint;
  txHash: string;
  rawTx: string;
  submittedEntryId: bigint;
}

/** A batch window, at least a second: consolidation requests are deduplicated per window. */
const batchWindowMs = (settings: Pick<ConsolidationChain, 'batchWindowSeconds'>): number => Math.max(settings.batchWindowSeconds, 1) * 1000;

/** The `sweep-deposit` job of a consolidating chain: one `consolidate` job per chain and window. */
export async function requestConsolidation(context: Pick<ConsolidationContext, 'pool' | 'chains'>, chain: string, nowMs = Date.now()): Promise<{ status: 'consolidation_requested'; runAfter: string }> {
  const settings = context.chains.get(chain);
  if (!settings) throw new UnrecoverableError(`no consolidation settings for ${chain}: set its RPC URL and treasury address`);
  const windowMs = batchWindowMs(settings);
  const windowEndMs = Math.ceil((nowMs + 1) / windowMs) * windowMs;
  const runAfter = new Date(Math.min(windowEndMs, nowMs + settings.batchWindowSeconds * 1000));
  await enqueue(context.pool, [{ queue: 'sweeps', name: 'consolidate', dedupeKey: `consolidate:${chain}:${windowEndMs}`, payload: { chain }, runAfter }]);
  return { status: 'consolidation_requested', runAfter: runAfter.toISOString() };
}

export function isConsolidating(chain: SweepChain): chain is ConsolidationChain {
  return 'batchWindowSeconds' in chain;
}

export function consolidationChains(chains: ReadonlyMap<string, SweepChain>): ReadonlyMap<string, ConsolidationChain> {
  return new Map([...chains].filter((entry): entry is [string, ConsolidationChain] => isConsolidating(entry[1])));
}

/** The `sweep-deposit` job: account chains sweep the deposit itself, UTXO chains ask for their window's consolidation. */
export async function sweepOrConsolidate(context: SweepContext, depositEntryId: bigint): Promise<SweepOutcome | Awaited<ReturnType<typeof requestConsolidation>>> {
  const deposit = await getEntry(context.pool, depositEntryId);
  if (!deposit) throw new UnrecoverableError(`deposit entry ${depositEntryId} does not exist`);
  const { chain } = depositDetails(deposit);
  const settings = context.chains.get(chain);
  if (settings && isConsolidating(settings)) return requestConsolidation({ pool: context.pool, chains: consolidationChains(context.chains) }, chain);
  return sweepDeposit(context, depositEntryId);
}

/** Follows live consolidations, then sweeps every ready UTXO of `chain` (up to the input bound) in one transaction. */
export async function consolidate(context: ConsolidationContext, chain: string): Promise<ConsolidationReport> {
  const settings = context.chains.get(chain);
  if (!settings) throw new UnrecoverableError(`no consolidation settings for ${chain}: set its RPC URL and treasury address`);
  const client = settings.adapter.connect({ rpcUrl: settings.rpcUrl });
  return withAdvisoryLock(context.pool, `consolidate:${chain}`, async (lock) => {
    const report: ConsolidationReport = { chain, submitted: null, confirmed: [], failed: [], skipped: 0, following: [] };
    await follow(context, settings, client, lock, report);
    const built = await build(context, settings, client, lock, report);
    if (built) await follow(context, settings, client, lock, report);
    // Transactions short of their depth are looked at again in the next window — strictly the
    // next one: this run may itself be the current window's job, whose dedupe key a request for
    // "now" would hit, and then nothing would follow the transaction any more.
    if (report.following.length > 0) await requestConsolidation(context, chain, Date.now() + batchWindowMs(settings));
    return report;
  });
}

/** The submitted sweeps of `chain`, a row per input, grouped by transaction. `build` writes each with its amount, fee share, signed bytes and entry. */
async function liveTransactions(db: PoolClient, chain: string): Promise<Map<string, { raw: string; rows: [LiveRow, ...LiveRow[]] }>> {
  const byTx = new Map<string, { raw: string; rows: [LiveRow, ...LiveRow[]] }>();
  for (const row of await run(db, liveSweeps.where('chain', '=', chain))) {
    if (row.amount === null || row.fee === null || row.tx_hash === null || row.raw_tx === null || row.submitted_entry_id === null) {
      throw new Error(`submitted sweep ${row.id} lacks its amount, fee, transaction or entry`);
    }
    const live = { id: row.id, depositEntryId: row.deposit_entry_id, address: row.address, amount: BigInt(row.amount), fee: BigInt(row.fee), txHash: row.tx_hash, rawTx: row.raw_tx, submittedEntryId: row.submitted_entry_id };
    const transaction = byTx.get(row.tx_hash);
    if (transaction) transaction.rows.push(live);
    else byTx.set(row.tx_hash, { raw: row.raw_tx, rows: [live] });
  }
  return byTx;
}

/** Re-broadcasts each live transaction's stored bytes and books those at depth, or fails those the node refuses. */
async function follow(context: ConsolidationContext, settings: ConsolidationChain, client: BitcoinChainClient, db: PoolClient, report: ConsolidationReport): Promise<void> {
  const chain = settings.adapter.chain;
  for (const [txid, { raw, rows }] of await liveTransactions(db, chain)) {
    const signed: SignedTransaction = { id: txid, raw };
    const status = await client.status(txid);
    if (status.status === 'included' && status.confirmations >= settings.confirmations) {
      await book(context, settings, rows, 'confirmed', { blockHeight: Number(status.height) });
      report.confirmed.push(txid);
      continue;
    }
    if (status.status === 'unknown') {
      // Never broadcast, lost from the mempool, or dropped by a reorg: the stored bytes go again.
      const sent = await client.broadcast(signed);
      if (sent.status === 'refused') {
        await book(context, settings, rows, 'failed', { reason: `broadcast refused: ${sent.message}` });
        report.failed.push(txid);
        context.logger.warn('consolidation refused; its UTXOs go back to custody and are planned again', { chain, txid, reason: sent.message });
        continue;
      }
    }
    report.following.push(txid);
  }
}

/**
 * Confirmed, decided, not reversed, and in no live or settled sweep, with the key that signs for
 * its address: up to `inputsPerTransactionMax` UTXOs, in journal order. Read through the doors
 * (the deposit view in ledger/, decisions in credits/, address keys in users/), a page of
 * confirmed deposits at a time; the sweeps table is this room's own.
 */
async function readyUtxos(context: ConsolidationContext, db: PoolClient, chain: string): Promise<ReadyUtxo[]> {
  const ready: ReadyUtxo[] = [];
  for (let after = 0n; ready.length < inputsPerTransactionMax; ) {
    const page = await confirmedDeposits(db, chain, { after, limit: readyScanPageSize });
    const last = page.at(-1);
    if (!last) break;
    after = last.entryId;
    const ids = page.map((deposit) => deposit.entryId);
    const decided = await creditDecisions(db, ids);
    const swept = new Set((await run(db, sqlBuilder.selectFrom('sweeps').select('deposit_entry_id').where('deposit_entry_id', 'in', ids).where('status', '<>', 'failed'))).map((row) => row.deposit_entry_id));
    const candidates = page.filter((deposit) => decided.has(deposit.entryId) && !swept.has(deposit.entryId));
    const keys = await depositAddressKeys(db, chain, [...new Set(candidates.map((deposit) => deposit.address))]);
    for (const deposit of candidates) {
      const key = keys.get(deposit.address);
      // A decided deposit is a user's, at a deposit address; a UTXO deposit names its output.
      if (deposit.userId === null || deposit.vout === null || !key?.publicKey) {
        context.logger.warn('a decided deposit lacks its user, output index or address key; it is not consolidated', { chain, entryId: deposit.entryId.toString() });
        continue;
      }
      ready.push({ entryId: deposit.entryId, userId: deposit.userId, address: deposit.address, amount: deposit.amount, txHash: deposit.txHash, vout: deposit.vout, key: { predecessor: key.predecessor, path: key.path }, publicKey: key.publicKey });
      if (ready.length === inputsPerTransactionMax) break;
    }
    if (page.length < readyScanPageSize) break;
  }
  return ready;
}

/** The ledger's answer to a consolidation's entry, when it booked it; a refusal is a retry. */
function booked(result: AppendResult | undefined, key: string): Extract<AppendResult, { status: 'created' | 'replayed' }> {
  if (result?.status === 'created' || result?.status === 'replayed') return result;
  throw new SweepError('ledger_refused', `the ledger refused ${key}: ${result?.status === 'rejected' ? result.rejection.message : result?.status}`);
}

async function build(context: ConsolidationContext, settings: ConsolidationChain, client: BitcoinChainClient, db: PoolClient, report: ConsolidationReport): Promise<boolean> {
  const chain = settings.adapter.chain;
  const asset = settings.adapter.nativeAsset.code;
  await catchUp(context.pool, depositsProjection);
  const ready = await readyUtxos(context, db, chain);
  if (ready.length === 0) return false;
  const inputs: (ConsolidationInput & { row: ReadyUtxo })[] = ready.map((row) => ({
    row,
    txid: row.txHash,
    vout: row.vout,
    valueSat: row.amount,
    publicKey: compressSecp256k1(Buffer.from(row.publicKey, 'hex')),
    key: row.key,
  }));
  const rowOf = new Map(inputs.map((input) => [`${input.txid}:${input.vout}`, input.row]));
  /** The ready UTXO a plan names; the plan only ever names the inputs it was given. */
  const readyOf = (utxo: { txid: string; vout: number }): ReadyUtxo => {
    const row = rowOf.get(`${utxo.txid}:${utxo.vout}`);
    if (!row) throw new Error(`the consolidation plan names ${utxo.txid}:${utxo.vout}, which it was not given`);
    return row;
  };
  const outcome = await client.planConsolidation({ inputs, to: settings.treasury });
  const skip = async (utxos: { txid: string; vout: number; inputFeeSat: bigint }[], reason: (fee: bigint) => string) => {
    for (const utxo of utxos) {
      const row = readyOf(utxo);
      await run(
        db,
        sqlBuilder
          .insertInto('sweeps')
          .values({ deposit_entry_id: row.entryId, user_id: row.userId, chain, address: row.address, asset, treasury: settings.treasury, amount: row.amount, status: 'skipped', reason: reason(utxo.inputFeeSat) })
          .onConflict((conflict) => conflict.column('deposit_entry_id').doUpdateSet((eb) => ({ status: 'skipped', reason: eb.ref('excluded.reason'), updated_at: sql<Date>`now()` }))),
      );
      report.skipped += 1;
    }
  };
  const uneconomic = outcome.uneconomic.map(({ utxo, inputFeeSat }) => ({ txid: utxo.txid, vout: utxo.vout, inputFeeSat }));
  // It stays in custody, on the books and on chain: not lost, not swept at a loss.
  await skip(uneconomic, (fee) => `worth no more than the ${fee} sat its input would cost; kept in custody`);
  if (outcome.status === 'not_worth_it') {
    if (uneconomic.length === 0) await skip(inputs.map((i) => ({ txid: i.txid, vout: i.vout, inputFeeSat: 0n })), () => `${outcome.reason}; kept in custody`);
    return false;
  }

  const signed = await signTransfer({ adapter: settings.adapter, unsigned: outcome.unsigned, signer: context.signer });
  const spent = outcome.inputs.map(readyOf);
  const shares = feeShares(outcome.unsigned.feeMax, spent.map((row) => row.amount));

  // Commit the signed transaction with its entry before the broadcast.
  await context.writer.transaction(async (t) => {
    const taken = await run(
      t.client,
      sqlBuilder
        .selectFrom('sweeps')
        .select('deposit_entry_id')
        .where('deposit_entry_id', 'in', spent.map((row) => row.entryId))
        .where('status', '<>', 'failed')
        .forUpdate(),
    );
    const [first] = taken;
    if (first) throw new SweepError('already_in_sweep', `deposit ${first.deposit_entry_id} is already in a sweep; not spending it twice`);
    const request: AppendRequest = {
      kind: sweepEntryKinds.submitted,
      idempotencyKey: `${chain}:${signed.id}:sweep.submitted`,
      sourceRef: signed.id,
      metadata: { txHash: signed.id, treasury: settings.treasury, inputs: spent.length, feeSat: outcome.unsigned.feeMax.toString(), consolidation: true },
      postings: spent.map((row) => ({ source: `custody:${chain}:${row.address}`, destination: `custody:${chain}:${row.address}:sweeping`, asset, amount: row.amount })),
    };
    const [result] = await t.append([request]);
    const entryId = booked(result, request.idempotencyKey).entry.id;
    for (const [i, row] of spent.entries()) {
      const fee = shares[i];
      if (fee === undefined) throw new Error('feeShares gives one share per input');
      await run(
        t.client,
        sqlBuilder
          .insertInto('sweeps')
          .values({
            deposit_entry_id: row.entryId,
            user_id: row.userId,
            chain,
            address: row.address,
            asset,
            treasury: settings.treasury,
            amount: row.amount,
            fee,
            status: 'submitted',
            tx_hash: signed.id,
            raw_tx: signed.raw,
            submitted_entry_id: entryId,
            attempts: 1,
          })
          .onConflict((conflict) =>
            conflict.column('deposit_entry_id').doUpdateSet((eb) => ({
              amount: eb.ref('excluded.amount'),
              fee: eb.ref('excluded.fee'),
              status: 'submitted',
              reason: null,
              tx_hash: eb.ref('excluded.tx_hash'),
              raw_tx: eb.ref('excluded.raw_tx'),
              submitted_entry_id: eb.ref('excluded.submitted_entry_id'),
              settled_entry_id: null,
              attempts: sql<number>`sweeps.attempts + 1`,
              updated_at: sql<Date>`now()`,
            })),
          ),
      );
    }
  });
  report.submitted = { txid: signed.id, inputs: spent.length, feeSat: outcome.unsigned.feeMax.toString() };
  context.logger.info('consolidation submitted', { chain, txid: signed.id, inputs: spent.length, feeSat: outcome.unsigned.feeMax.toString(), deferred: outcome.deferred.length });
  return true;
}

/** `fee` split in proportion to `values`, exactly: floor shares, the remainder one unit each to the first inputs. */
export function feeShares(fee: bigint, values: bigint[]): bigint[] {
  const total = values.reduce((sum, value) => sum + value, 0n);
  if (fee < 0n || fee > total) throw new RangeError(`a fee of ${fee} cannot be split over inputs worth ${total}`);
  const shares = values.map((value) => (fee * value) / total);
  const remainder = fee - shares.reduce((sum, share) => sum + share, 0n);
  // Each floor lost less than one unit, so the remainder is less than the number of inputs.
  return shares.map((share, i) => (BigInt(i) < remainder ? share + 1n : share));
}

async function book(context: ConsolidationContext, settings: ConsolidationChain, rows: [LiveRow, ...LiveRow[]], outcome: 'confirmed' | 'failed', detail: { blockHeight?: number; reason?: string }): Promise<void> {
  const [first] = rows;
  const chain = settings.adapter.chain;
  const asset = settings.adapter.nativeAsset.code;
  const txid = first.txHash;
  await context.writer.transaction(async (t) => {
    const postings =
      outcome === 'confirmed'
        ? rows.flatMap((row) => {
            const sweeping = `custody:${chain}:${row.address}:sweeping`;
            return [
              { source: sweeping, destination: `treasury:${chain}`, asset, amount: row.amount - row.fee },
              ...(row.fee > 0n ? [{ source: sweeping, destination: `fees:${chain}`, asset, amount: row.fee }] : []),
            ];
          })
        : rows.map((row) => ({ source: `custody:${chain}:${row.address}:sweeping`, destination: `custody:${chain}:${row.address}`, asset, amount: row.amount }));
    const request: AppendRequest = {
      kind: outcome === 'confirmed' ? sweepEntryKinds.confirmed : sweepEntryKinds.failed,
      idempotencyKey: `${chain}:${txid}:sweep.${outcome}`,
      sourceRef: txid,
      ...(outcome === 'failed' ? { reverses: first.submittedEntryId } : {}),
      metadata: { txHash: txid, inputs: rows.length, feeSat: rows.reduce((sum, row) => sum + row.fee, 0n).toString(), ...detail },
      postings: postings.filter((posting) => posting.amount > 0n),
    };
    const [result] = await t.append([request]);
    const entryId = booked(result, request.idempotencyKey).entry.id;
    await run(
      t.client,
      sqlBuilder
        .updateTable('sweeps')
        .set({ status: outcome, reason: detail.reason ?? null, settled_entry_id: entryId, updated_at: sql<Date>`now()` })
        .where('id', 'in', rows.map((row) => row.id)),
    );
  });
}
