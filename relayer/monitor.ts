// The relayer's monitor: one pass over every in-flight transaction (a repeatable job, every
// RELAYER_POLL_INTERVAL_MS; one pass at a time across workers). Per transaction it broadcasts
// what was signed but not sent, notices the mempool and the block, resubmits a transaction
// stuck past its speed's timeout with a ≥ 10 % bump (doubling the wait each time), gives the
// nonce of a transaction past validUntil to a NOOP, and at RELAYER_CONFIRMATIONS books what it
// cost: relayers:ethereum:<address> → fees:ethereum (gas) and → world:ethereum (value).
import { decodeEventLog, getAddress, parseAbi, type Address, type TransactionReceipt } from 'viem';
import { run, runFirst, runOne, sql, sqlBuilder } from '../infra/index.ts';
import { chart, relayEntryKinds, type JournalEntry, type PostingInput, assertAppended } from '../ledger/index.ts';
import { advanceKeyRotations, type RotationProgress } from './key-rotation.ts';
import { bump, repriceCeiling, type Speed } from './pricing.ts';
import { getRelayer, relayChain, relayerAccount, type Relayer } from './relayers.ts';
import { broadcast, fromRow, openStatuses, relayNow, replaceWithNoop, resign, type RelayContext, type RelayedTransaction } from './transactions.ts';

/** OpenZeppelin Relayer's resubmission timeouts per speed; each further attempt waits twice as long. */
export const resubmitAfterMs: Record<Speed, number> = { safeLow: 600_000, average: 300_000, fast: 180_000, fastest: 120_000 };

export const forwarderEvents = parseAbi(['event ExecutedForwardRequest(address indexed signer, uint256 nonce, bool success)']);

export interface MonitorOutcome {
  checked: number;
  broadcast: number;
  mined: number;
  settled: number;
  resubmitted: number;
  noops: number;
  /** Relayer key rotations moved on by this pass (key-rotation.ts). */
  rotations: RotationProgress;
}

const monitorLock = 'relay-monitor';
/** Open transactions one pass looks at; the rest wait for the next pass. */
const openPerPassMax = 5_000;

/** One pass. Returns null when another worker's pass is running (they would do the same work). */
export async function monitorPass(ctx: RelayContext, hooks: { afterSettle?: (tx: RelayedTransaction, receipt: TransactionReceipt) => Promise<void> } = {}): Promise<MonitorOutcome | null> {
  const lock = await ctx.pool.connect();
  try {
    const { ok } = await runOne(lock, sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(hashtext(${monitorLock})) AS ok`);
    if (!ok) return null;
    try {
      const outcome = await pass(ctx, hooks);
      // After the pass: a drain waits for what the pass may just have settled.
      outcome.rotations = await advanceKeyRotations(ctx);
      return outcome;
    } finally {
      await run(lock, sql`SELECT pg_advisory_unlock(hashtext(${monitorLock}))`);
    }
  } finally {
    lock.release();
  }
}

async function pass(ctx: RelayContext, hooks: Parameters<typeof monitorPass>[1]): Promise<MonitorOutcome> {
  const outcome: MonitorOutcome = { checked: 0, broadcast: 0, mined: 0, settled: 0, resubmitted: 0, noops: 0, rotations: { activated: 0, drainsSent: 0, retired: 0 } };
  const rows = await run(ctx.pool, sqlBuilder.selectFrom('relayer_transactions').selectAll().where('status', 'in', openStatuses).orderBy('relayer_id').orderBy('nonce').limit(openPerPassMax));
  if (rows.length === 0) return outcome;
  const head = await ctx.client.getBlockNumber();
  const relayers = new Map<string, Relayer>();
  for (const id of new Set(rows.map((r) => r.relayer_id))) relayers.set(id, (await getRelayer(ctx.pool, id))!);
  // Nonces count per key: a relayer that was rotated has transactions of its old key in flight too.
  const txs = rows.map(fromRow);
  const minedNonces = new Map<Address, bigint>();
  for (const from of new Set(txs.map((tx) => tx.from))) minedNonces.set(from, BigInt(await ctx.client.getTransactionCount({ address: from, blockTag: 'latest' })));
  // A few at a time: each step is one to three node round trips.
  let next = 0;
  const worker = async () => {
    while (next < txs.length) {
      const tx = txs[next++]!;
      const relayer = relayers.get(tx.relayerId)!;
      const minedNonce = minedNonces.get(tx.from)!;
      try {
        await step(ctx, relayer, tx, head, minedNonce, outcome, hooks);
      } catch (error) {
        ctx.logger.warn('relay monitor: a transaction step failed; next pass retries', { transactionId: tx.id, error: error instanceof Error ? error.message : String(error) });
      }
      outcome.checked += 1;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return outcome;
}

async function findReceipt(ctx: RelayContext, tx: RelayedTransaction): Promise<TransactionReceipt | null> {
  for (const hash of [...tx.hashes].reverse()) {
    const receipt = await ctx.client.getTransactionReceipt({ hash }).catch(() => null);
    if (receipt) return receipt;
  }
  return null;
}

async function step(
  ctx: RelayContext,
  relayer: Relayer,
  tx: RelayedTransaction,
  head: bigint,
  minedNonce: bigint,
  outcome: MonitorOutcome,
  hooks: Parameters<typeof monitorPass>[1],
): Promise<void> {
  if (tx.status === 'mined') {
    if (head - tx.blockNumber! + 1n < BigInt(ctx.confirmations)) return;
    const receipt = await ctx.client.getTransactionReceipt({ hash: tx.minedHash! }).catch(() => null);
    if (!receipt || receipt.blockNumber !== tx.blockNumber) {
      // Reorged out before it was final: back to the mempool's care.
      await run(
        ctx.pool,
        sqlBuilder.updateTable('relayer_transactions').set({ status: 'submitted', mined_at: null, block_number: null, mined_hash: null, fee: null }).where('id', '=', tx.id).where('status', '=', 'mined'),
      );
      return;
    }
    await settle(ctx, relayer, tx, receipt, hooks);
    outcome.settled += 1;
    return;
  }
  if (tx.nonce < minedNonce) {
    // This nonce is used on chain: by one of our signatures, normally.
    const receipt = await findReceipt(ctx, tx);
    if (!receipt) {
      await run(
        ctx.pool,
        sqlBuilder.updateTable('relayer_transactions').set({ status: 'failed', status_reason: 'nonce used by a transaction coffer did not sign' }).where('id', '=', tx.id).where('status', 'in', openStatuses),
      );
      ctx.logger.error('relayer nonce taken by a foreign transaction', { relayerId: relayer.id, nonce: tx.nonce.toString() });
      return;
    }
    const fee = receipt.gasUsed * receipt.effectiveGasPrice;
    await run(
      ctx.pool,
      sqlBuilder
        .updateTable('relayer_transactions')
        .set({ status: 'mined', mined_at: sql<Date>`now()`, block_number: receipt.blockNumber, mined_hash: receipt.transactionHash, fee, sent_at: sql<Date>`coalesce(sent_at, now())` })
        .where('id', '=', tx.id)
        .where('status', 'in', openStatuses),
    );
    outcome.mined += 1;
    if (head - receipt.blockNumber + 1n >= BigInt(ctx.confirmations)) {
      await settle(ctx, relayer, { ...tx, status: 'mined', blockNumber: receipt.blockNumber, minedHash: receipt.transactionHash }, receipt, hooks);
      outcome.settled += 1;
    }
    return;
  }
  if (tx.status === 'pending' || tx.status === 'sent') {
    if (await broadcast(ctx, tx)) outcome.broadcast += 1;
    return;
  }
  const now = relayNow(ctx);
  if (tx.validUntil.getTime() < now && !tx.noopReason) {
    const noop = await replaceWithNoop(ctx, relayer, tx.id, 'expired');
    await broadcast(ctx, noop);
    outcome.noops += 1;
    return;
  }
  const waited = now - (tx.sentAt ?? tx.pricedAt).getTime();
  const timeout = (ctx.resubmitAfterMs?.[tx.speed ?? 'fast'] ?? resubmitAfterMs[tx.speed ?? 'fast']) * 2 ** Math.min(tx.attempts - 1, 10);
  if (!tx.fixedPricing && tx.speed && waited > timeout) {
    const market = await ctx.fees.forSpeed(tx.speed);
    const fees = bump(tx, market, repriceCeiling(market, relayer.gasPriceCap));
    if (!fees) {
      // At the ceiling: wait at this price (and do not try again before another timeout).
      await run(ctx.pool, sqlBuilder.updateTable('relayer_transactions').set({ sent_at: sql<Date>`now()` }).where('id', '=', tx.id));
      return;
    }
    const bumped = await resign(ctx, relayer, tx.id, (current) => ({
      to: current.to, value: current.value, data: current.data, gasLimit: current.gasLimit, speed: current.speed, fixedPricing: false,
      fees: current.txType === 'legacy' ? { maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxFeePerGas } : fees,
      validUntil: current.validUntil,
    }));
    await broadcast(ctx, bumped);
    outcome.resubmitted += 1;
    return;
  }
  // Submitted: is it in the node's mempool? If the node forgot it, send it again.
  const seen = await ctx.client.getTransaction({ hash: tx.hash }).catch(() => null);
  if (seen) {
    if (tx.status === 'submitted') {
      await run(ctx.pool, sqlBuilder.updateTable('relayer_transactions').set({ status: 'inmempool' }).where('id', '=', tx.id).where('status', '=', 'submitted').where('hash', '=', tx.hash));
    }
  } else {
    await ctx.client.sendRawTransaction({ serializedTransaction: tx.rawTx }).catch(() => undefined);
  }
}

/** Books the mined transaction's cost and closes it: confirmed, or failed (reverted / cancelled), or expired (its NOOP). */
async function settle(ctx: RelayContext, relayer: Relayer, tx: RelayedTransaction, receipt: TransactionReceipt, hooks: Parameters<typeof monitorPass>[1]): Promise<void> {
  const mined = await ctx.client.getTransaction({ hash: receipt.transactionHash });
  const fee = receipt.gasUsed * receipt.effectiveGasPrice;
  const account = relayerAccount(tx.from);
  const reverted = receipt.status !== 'success';
  const status = tx.noopReason === 'expired' ? 'expired' : tx.noopReason === 'cancelled' || reverted ? 'failed' : 'confirmed';
  const reason = tx.noopReason === 'cancelled' ? 'cancelled' : tx.noopReason === 'expired' ? 'validUntil passed; a NOOP took the nonce' : reverted ? 'reverted' : null;
  const postings: PostingInput[] = [];
  if (fee > 0n) postings.push({ source: account, destination: chart.fees(relayChain.chain), asset: relayChain.feeAsset.code, amount: fee });
  // Value leaves only when the call succeeded (a revert returns it) and not to ourselves (a NOOP).
  // A rotation's drain stays ours: it moves to the successor key's account.
  if (!reverted && mined.value > 0n && mined.to && mined.to.toLowerCase() !== tx.from.toLowerCase()) {
    const destination = tx.origin === 'rotation' ? relayerAccount(getAddress(mined.to)) : chart.world(relayChain.chain);
    postings.push({ source: account, destination, asset: relayChain.nativeAsset.code, amount: mined.value });
  }
  const settled = await ctx.writer.transaction(async (t) => {
    const current = await runFirst(t.client, sqlBuilder.selectFrom('relayer_transactions').select('status').where('id', '=', tx.id).forUpdate());
    if (current?.status !== 'mined') return false;
    let entry: JournalEntry | null = null;
    if (postings.length > 0) {
      const key = `relay:${tx.id}:settled`;
      const [result] = await t.append([
        {
          kind: relayEntryKinds.settled,
          idempotencyKey: key,
          sourceRef: receipt.transactionHash,
          effectiveAt: new Date(),
          metadata: { relayerId: relayer.id, transactionId: tx.id, nonce: tx.nonce.toString(), hash: receipt.transactionHash, blockNumber: receipt.blockNumber.toString(), origin: tx.origin, status, fee: fee.toString() },
          postings,
        },
      ]);
      assertAppended(result, key);
      entry = result.entry;
    }
    await run(
      t.client,
      sqlBuilder
        .updateTable('relayer_transactions')
        .set({ status, status_reason: reason, confirmed_at: sql<Date>`now()`, fee, mined_hash: receipt.transactionHash, block_number: receipt.blockNumber, settled_entry_id: entry?.id ?? null })
        .where('id', '=', tx.id),
    );
    if (tx.origin === 'forwarder') await closeForwardRequest(t.client, tx.id, receipt);
    return true;
  });
  if (settled && hooks?.afterSettle) await hooks.afterSettle(tx, receipt);
}

/** The forward request this relay carried: executed when its ExecutedForwardRequest says so. */
async function closeForwardRequest(client: Parameters<Parameters<RelayContext['writer']['transaction']>[0]>[0]['client'], transactionId: string, receipt: TransactionReceipt): Promise<void> {
  const request = await runFirst(client, sqlBuilder.selectFrom('forward_requests').select(['id', 'forwarder', 'signer', 'nonce']).where('relay_transaction_id', '=', transactionId));
  if (!request) return;
  let executed: boolean | null = null;
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== request.forwarder.toLowerCase()) continue;
    try {
      const event = decodeEventLog({ abi: forwarderEvents, data: log.data, topics: log.topics });
      if (event.args.signer.toLowerCase() === request.signer.toLowerCase() && event.args.nonce === BigInt(request.nonce)) executed = event.args.success;
    } catch {
      // Not the forwarder's event.
    }
  }
  const status = executed ? 'executed' : 'failed';
  const reason = executed ? null : receipt.status !== 'success' ? 'the relay transaction reverted (signature, nonce or deadline no longer valid, or the call failed)' : 'no ExecutedForwardRequest for this request';
  await run(client, sqlBuilder.updateTable('forward_requests').set({ status, status_reason: reason, updated_at: sql<Date>`now()` }).where('id', '=', request.id));
}
