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
import { enqueue, type Logger, type Pool, type PoolClient } from '../infra/index.ts';
import { catchUp, depositsProjection, getEntry, sweepEntryKinds, type AppendRequest, type LedgerWriter } from '../ledger/index.ts';
import { compressSecp256k1, type Signer } from '../signer/index.ts';
import { depositDetails } from '../ledger/index.ts';
import { sweepDeposit, type SweepChain, type SweepContext, type SweepOutcome } from './sweeps.ts';

/** Inputs per consolidation transaction; the rest wait for the next one (chains/bitcoin bounds it at 250). */
const inputsPerTransactionMax = 100;

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
  entry_id: bigint;
  user_id: string;
  address: string;
  amount: string;
  tx_hash: string;
  vout: number;
  predecessor: string;
  path: string;
  public_key: string;
}

interface LiveRow {
  id: bigint;
  deposit_entry_id: bigint;
  address: string;
  amount: string;
  fee: string;
  tx_hash: string;
  raw_tx: string;
  submitted_entry_id: bigint;
}

/** A batch window, at least a second: consolidation requests are deduplicated per window. */
const batchWindowMs = (settings: Pick<ConsolidationChain, 'batchWindowSeconds'>): number => Math.max(settings.batchWindowSeconds, 1) * 1000;

/** The `sweep-deposit` job of a consolidating chain: one `consolidate` job per chain and window. */
export async function requestConsolidation(context: Pick<ConsolidationContext, 'pool' | 'chains'>, chain: string, nowMs = Date.now()): Promise<{ status: 'consolidation_requested'; runAfter: string }> {
  const settings = context.chains.get(chain)!;
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
  const lock = await context.pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`consolidate:${chain}`]);
    const report: ConsolidationReport = { chain, submitted: null, confirmed: [], failed: [], skipped: 0, following: [] };
    await follow(context, settings, client, lock, report);
    const built = await build(context, settings, client, lock, report);
    if (built) await follow(context, settings, client, lock, report);
    // Transactions short of their depth are looked at again in the next window — strictly the
    // next one: this run may itself be the current window's job, whose dedupe key a request for
    // "now" would hit, and then nothing would follow the transaction any more.
    if (report.following.length > 0) await requestConsolidation(context, chain, Date.now() + batchWindowMs(settings));
    return report;
  } finally {
    await lock.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    lock.release();
  }
}

async function liveRows(db: PoolClient, chain: string): Promise<LiveRow[]> {
  const { rows } = await db.query<LiveRow>(
    `SELECT id, deposit_entry_id, address, amount::text, fee::text, tx_hash, raw_tx, submitted_entry_id
       FROM sweeps WHERE chain = $1 AND status = 'submitted' ORDER BY tx_hash, id`,
    [chain],
  );
  return rows;
}

/** Re-broadcasts each live transaction's stored bytes and books those at depth, or fails those the node refuses. */
async function follow(context: ConsolidationContext, settings: ConsolidationChain, client: BitcoinChainClient, db: PoolClient, report: ConsolidationReport): Promise<void> {
  const chain = settings.adapter.chain;
  const byTx = new Map<string, LiveRow[]>();
  for (const row of await liveRows(db, chain)) byTx.set(row.tx_hash, [...(byTx.get(row.tx_hash) ?? []), row]);
  for (const [txid, rows] of byTx) {
    const signed: SignedTransaction = { id: txid, raw: rows[0]!.raw_tx };
    const status = await client.status(txid);
    if (status.status === 'included' && status.confirmations >= settings.confirmations) {
      await book(context, chain, rows, 'confirmed', { blockHeight: Number(status.height) });
      report.confirmed.push(txid);
      continue;
    }
    if (status.status === 'unknown') {
      // Never broadcast, lost from the mempool, or dropped by a reorg: the stored bytes go again.
      const sent = await client.broadcast(signed);
      if (sent.status === 'refused') {
        await book(context, chain, rows, 'failed', { reason: `broadcast refused: ${sent.message}` });
        report.failed.push(txid);
        context.logger.warn('consolidation refused; its UTXOs go back to custody and are planned again', { chain, txid, reason: sent.message });
        continue;
      }
    }
    report.following.push(txid);
  }
}

async function build(context: ConsolidationContext, settings: ConsolidationChain, client: BitcoinChainClient, db: PoolClient, report: ConsolidationReport): Promise<boolean> {
  const chain = settings.adapter.chain;
  await catchUp(context.pool, depositsProjection);
  // Confirmed, credited, not reversed, and in no live or settled sweep.
  const { rows: ready } = await db.query<ReadyUtxo>(
    `SELECT d.entry_id, d.user_id, d.address, d.amount::text, d.tx_hash, (e.metadata->>'vout')::integer AS vout, a.predecessor, a.path, a.public_key
       FROM deposits d
       JOIN journal_entries e ON e.id = d.entry_id
       JOIN credit_decisions c ON c.deposit_entry_id = d.entry_id
       JOIN deposit_addresses a ON a.chain = d.chain AND a.address = d.address
       LEFT JOIN sweeps s ON s.deposit_entry_id = d.entry_id
      WHERE d.chain = $1 AND d.confirmed_entry_id IS NOT NULL AND NOT d.confirmation_reversed AND d.reversal_entry_id IS NULL
        AND (s.id IS NULL OR s.status = 'failed')
      ORDER BY d.entry_id LIMIT $2`,
    [chain, inputsPerTransactionMax],
  );
  if (ready.length === 0) return false;
  const inputs: (ConsolidationInput & { row: ReadyUtxo })[] = ready.map((row) => ({
    row,
    txid: row.tx_hash,
    vout: row.vout,
    valueSat: BigInt(row.amount),
    publicKey: compressSecp256k1(Buffer.from(row.public_key, 'hex')),
    key: { predecessor: row.predecessor, path: row.path },
  }));
  const rowOf = new Map(inputs.map((input) => [`${input.txid}:${input.vout}`, input.row]));
  const outcome = await client.planConsolidation({ inputs, to: settings.treasury });
  const skip = async (utxos: { txid: string; vout: number; inputFeeSat: bigint }[], reason: (fee: bigint) => string) => {
    for (const utxo of utxos) {
      const row = rowOf.get(`${utxo.txid}:${utxo.vout}`)!;
      await db.query(
        `INSERT INTO sweeps (deposit_entry_id, user_id, chain, address, asset, treasury, amount, status, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'skipped', $8)
         ON CONFLICT (deposit_entry_id) DO UPDATE SET status = 'skipped', reason = excluded.reason, updated_at = now()`,
        [row.entry_id.toString(), row.user_id, chain, row.address, settings.adapter.nativeAsset.code, settings.treasury, row.amount, reason(utxo.inputFeeSat)],
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
  const spent = outcome.inputs.map((input) => rowOf.get(`${input.txid}:${input.vout}`)!);
  const shares = feeShares(outcome.unsigned.feeMax, spent.map((row) => BigInt(row.amount)));

  // Commit the signed transaction with its entry before the broadcast.
  await context.writer.transaction(async (t) => {
    const { rows: taken } = await t.client.query<{ deposit_entry_id: bigint }>(
      `SELECT deposit_entry_id FROM sweeps WHERE deposit_entry_id = ANY($1::bigint[]) AND status <> 'failed' FOR UPDATE`,
      [spent.map((row) => row.entry_id.toString())],
    );
    if (taken.length > 0) throw new Error(`deposit ${taken[0]!.deposit_entry_id} is already in a sweep; not spending it twice`);
    const request: AppendRequest = {
      kind: sweepEntryKinds.submitted,
      idempotencyKey: `${chain}:${signed.id}:sweep.submitted`,
      sourceRef: signed.id,
      metadata: { txHash: signed.id, treasury: settings.treasury, inputs: spent.length, feeSat: outcome.unsigned.feeMax.toString(), consolidation: true },
      postings: spent.map((row) => ({ source: `custody:${chain}:${row.address}`, destination: `custody:${chain}:${row.address}:sweeping`, asset: settings.adapter.nativeAsset.code, amount: BigInt(row.amount) })),
    };
    const [result] = await t.append([request]);
    if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new Error(`the ledger refused ${request.idempotencyKey}: ${result?.status === 'rejected' ? result.rejection.message : result?.status}`);
    for (const [i, row] of spent.entries()) {
      await t.client.query(
        `INSERT INTO sweeps (deposit_entry_id, user_id, chain, address, asset, treasury, amount, fee, status, tx_hash, raw_tx, submitted_entry_id, attempts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'submitted', $9, $10, $11, 1)
         ON CONFLICT (deposit_entry_id) DO UPDATE SET amount = excluded.amount, fee = excluded.fee, status = 'submitted', reason = NULL,
           tx_hash = excluded.tx_hash, raw_tx = excluded.raw_tx, submitted_entry_id = excluded.submitted_entry_id, settled_entry_id = NULL,
           attempts = sweeps.attempts + 1, updated_at = now()`,
        [row.entry_id.toString(), row.user_id, chain, row.address, settings.adapter.nativeAsset.code, settings.treasury, row.amount, shares[i]!.toString(), signed.id, signed.raw, result.entry.id.toString()],
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
  let remainder = fee - shares.reduce((sum, share) => sum + share, 0n);
  for (let i = 0; remainder > 0n; i += 1, remainder -= 1n) shares[i] = shares[i]! + 1n;
  return shares;
}

async function book(context: ConsolidationContext, chain: string, rows: LiveRow[], outcome: 'confirmed' | 'failed', detail: { blockHeight?: number; reason?: string }): Promise<void> {
  const settings = context.chains.get(chain)!;
  const asset = settings.adapter.nativeAsset.code;
  const txid = rows[0]!.tx_hash;
  await context.writer.transaction(async (t) => {
    const postings =
      outcome === 'confirmed'
        ? rows.flatMap((row) => {
            const fee = BigInt(row.fee);
            const sweeping = `custody:${chain}:${row.address}:sweeping`;
            return [
              { source: sweeping, destination: `treasury:${chain}`, asset, amount: BigInt(row.amount) - fee },
              ...(fee > 0n ? [{ source: sweeping, destination: `fees:${chain}`, asset, amount: fee }] : []),
            ];
          })
        : rows.map((row) => ({ source: `custody:${chain}:${row.address}:sweeping`, destination: `custody:${chain}:${row.address}`, asset, amount: BigInt(row.amount) }));
    const request: AppendRequest = {
      kind: outcome === 'confirmed' ? sweepEntryKinds.confirmed : sweepEntryKinds.failed,
      idempotencyKey: `${chain}:${txid}:sweep.${outcome}`,
      sourceRef: txid,
      ...(outcome === 'failed' ? { reverses: rows[0]!.submitted_entry_id } : {}),
      metadata: { txHash: txid, inputs: rows.length, feeSat: rows.reduce((sum, row) => sum + BigInt(row.fee), 0n).toString(), ...detail },
      postings: postings.filter((posting) => posting.amount > 0n),
    };
    const [result] = await t.append([request]);
    if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new Error(`the ledger refused ${request.idempotencyKey}: ${result?.status === 'rejected' ? result.rejection.message : result?.status}`);
    await t.client.query(`UPDATE sweeps SET status = $2, reason = $3, settled_entry_id = $4, updated_at = now() WHERE id = ANY($1::bigint[])`, [
      rows.map((row) => row.id.toString()),
      outcome,
      detail.reason ?? null,
      result.entry.id.toString(),
    ]);
  });
}
