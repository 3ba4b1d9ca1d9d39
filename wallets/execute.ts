// Executing an allowed spend: sign through the signer, broadcast, track to confirmation, and
// settle the hold into the final entries. Crash-safe like sweeps: the signed transaction is
// stored (status `submitted`) before it is broadcast, so a retry re-broadcasts the same bytes
// and never signs a second transaction for one spend. A wallet's nonces come from
// wallets.next_nonce (the chain's pending count is its floor), taken under a per-wallet lock.
//
// Ledger:  spend.hold     wallets:<id>:available → wallets:<id>:held  (amount; gas reserve in the fee asset)
//          spend.settled  held → world:ethereum (amount), held → fees:ethereum (gas paid),
//                         held → available (the unused gas reserve)
//          spend.release  reverses the hold (signer down, broadcast refused, reverted)
//          spend.fee      available → fees:ethereum (the gas a reverted transaction burned)
import { awaitConfirmations, signEvmCall, type ChainClient } from '../chains/index.ts';
import { run, runFirst, sqlBuilder, withAdvisoryLock, type Logger, type Pool, type Queryable } from '../infra/index.ts';
import { chart, getEntry, spendEntryKinds, spendWindowsProjection, type AppendRequest, type AppendResult, type JournalEntry, type LedgerWriter } from '../ledger/index.ts';
import { SignerError, type Signer } from '../signer/index.ts';
import { getSpend, storedEstimate, transition, type Spend } from './spends.ts';
import { lockWallet, requireWallet, walletAccounts, walletChain, WalletError, type Hex } from './wallets.ts';

export interface ExecuteContext {
  pool: Pool;
  writer: LedgerWriter;
  logger: Logger;
  signer: Signer;
  rpcUrl: string;
  /** Blocks on top of the spend's block before it is settled. */
  confirmations: number;
  trackTimeoutMs?: number;
  pollIntervalMs?: number;
}

export type ExecuteOutcome = { status: Spend['status']; txHash: Hex | null; fee: bigint | null; code: string | null };

async function requireSpend(db: Queryable, id: string): Promise<Spend> {
  const spend = await getSpend(db, id);
  if (!spend) throw new WalletError('spend_not_found', `no spend ${id}`);
  return spend;
}

/** The signed transaction a `submitted` spend stored before broadcasting it. */
function storedTransaction(spend: Spend): { txHash: Hex; rawTx: Hex } {
  if (spend.txHash === null || spend.rawTx === null) throw new WalletError('spend_state_invalid', `spend ${spend.id} (${spend.status}) has no stored transaction`);
  return { txHash: spend.txHash, rawTx: spend.rawTx };
}

export async function executeSpend(context: ExecuteContext, spendId: string): Promise<ExecuteOutcome> {
  const spend = await requireSpend(context.pool, spendId);
  const outcome = (s: Spend): ExecuteOutcome => ({ status: s.status, txHash: s.txHash, fee: s.fee, code: s.code });
  if (spend.status !== 'allowed' && spend.status !== 'submitted') return outcome(spend);
  const submitted = spend.status === 'submitted' ? spend : await signAndStore(context, spend);
  if (submitted.status !== 'submitted') return outcome(submitted);
  return outcome(await broadcastAndTrack(context, walletChain.connect({ rpcUrl: context.rpcUrl }), submitted));
}

async function signAndStore(context: ExecuteContext, spend: Spend): Promise<Spend> {
  const wallet = await requireWallet(context.pool, spend.walletId);
  // One signer of a wallet's nonces at a time, across workers.
  return withAdvisoryLock(context.pool, `spend-nonce:${spend.walletId}`, async () => {
    const current = await requireSpend(context.pool, spend.id);
    if (current.status !== 'allowed') return current;
    const stored = await runFirst(context.pool, sqlBuilder.selectFrom('wallets').select('next_nonce').where('id', '=', spend.walletId));
    let nonce: number;
    let signed: { id: string; raw: string };
    try {
      ({ nonce, signed } = await signEvmCall({
        rpcUrl: context.rpcUrl,
        signer: context.signer,
        key: { predecessor: wallet.predecessor, path: wallet.path },
        from: wallet.address,
        call: { to: current.txTo, value: current.txValue, data: current.txData },
        gas: storedEstimate(current),
        nonceFloor: stored?.next_nonce ?? 0n,
      }));
    } catch (error) {
      if (!(error instanceof SignerError)) throw error;
      // Fail closed: the spend does not happen, and its budget and funds come back.
      return release(context, current, 'signer_unavailable', error.message, 0n);
    }
    // A signed EVM transaction is 0x-hex, its id the hash (chains/evm).
    const txHash = signed.id as Hex;
    const rawTx = signed.raw as Hex;
    return context.writer.transaction(async (t) => {
      const walletRow = await lockWallet(t.client, spend.walletId);
      await run(t.client, sqlBuilder.updateTable('wallets').set({ next_nonce: BigInt(nonce + 1) }).where('id', '=', spend.walletId));
      return transition(t.client, current, walletRow, { status: 'submitted', signed: { nonce, txHash, rawTx }, actor: 'executor', detail: { txHash, nonce } });
    });
  });
}

async function broadcastAndTrack(context: ExecuteContext, client: ChainClient, spend: Spend): Promise<Spend> {
  const { txHash, rawTx } = storedTransaction(spend);
  const sent = await client.broadcast({ id: txHash, raw: rawTx });
  if (sent.status === 'refused') return release(context, spend, 'broadcast_refused', sent.message, 0n);
  const confirmed = await awaitConfirmations(client, txHash, { confirmations: context.confirmations, timeoutMs: context.trackTimeoutMs ?? 120_000, pollIntervalMs: context.pollIntervalMs ?? 250 });
  if (!confirmed) throw new WalletError('not_confirmed', `spend ${spend.id}: ${txHash} not confirmed yet; will check again`);
  if (!confirmed.success) return release(context, spend, 'reverted', `the transaction reverted in block ${confirmed.height}`, confirmed.fee);
  return settle(context, spend, confirmed.fee, confirmed.height);
}

function assertWritten(result: AppendResult | undefined, key: string): JournalEntry {
  if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new WalletError('ledger_refused', `the ledger refused ${key}: ${result?.status ?? 'no answer'}`);
  return result.entry;
}

async function settle(context: ExecuteContext, spend: Spend, fee: bigint, blockNumber: bigint): Promise<Spend> {
  const accounts = walletAccounts(spend.walletId);
  return context.writer.transaction(async (t) => {
    const wallet = await lockWallet(t.client, spend.walletId);
    const current = await requireSpend(t.client, spend.id);
    if (current.status !== 'submitted') return current;
    const { txHash } = storedTransaction(current);
    const reserve = current.gasReserve ?? 0n;
    const gas = walletChain.feeAsset.code;
    const postings = [{ source: accounts.held, destination: chart.world(walletChain.chain), asset: current.asset, amount: current.amount }];
    if (fee > 0n) postings.push({ source: accounts.held, destination: chart.fees(walletChain.chain), asset: gas, amount: fee });
    if (reserve > fee) postings.push({ source: accounts.held, destination: accounts.available, asset: gas, amount: reserve - fee });
    const key = `spend:${current.id}:settled`;
    const [result] = await t.append([
      { kind: spendEntryKinds.settled, idempotencyKey: key, sourceRef: txHash, metadata: { walletId: current.walletId, spendId: current.id, txHash, blockNumber: Number(blockNumber), fee: fee.toString() }, postings },
    ]);
    const entry = assertWritten(result, key);
    return transition(t.client, current, wallet, { status: 'confirmed', fee, settledEntryId: entry.id, actor: 'executor', detail: { txHash, blockNumber: Number(blockNumber), fee: fee.toString() } });
  });
}

/** The spend did not happen: the hold is reversed (budget and funds back), gas burned is booked. */
async function release(context: Pick<ExecuteContext, 'writer'>, spend: Spend, code: string, reason: string, fee: bigint): Promise<Spend> {
  const accounts = walletAccounts(spend.walletId);
  return context.writer.transaction(async (t) => {
    const wallet = await lockWallet(t.client, spend.walletId);
    const current = await requireSpend(t.client, spend.id);
    if (current.status !== 'allowed' && current.status !== 'submitted') return current;
    const hold = current.holdEntryId === null ? null : await getEntry(t.client, current.holdEntryId);
    if (!hold) throw new WalletError('spend_state_invalid', `spend ${current.id} (${current.status}) has no hold entry to release`);
    const releaseRequest: AppendRequest = {
      kind: spendEntryKinds.release,
      idempotencyKey: `spend:${current.id}:release`,
      reverses: hold.id,
      sourceRef: current.id,
      metadata: { walletId: current.walletId, spendId: current.id, code, reason: reason.slice(0, 500) },
      postings: hold.postings.map((p) => ({ source: p.destination, destination: p.source, asset: p.asset, amount: p.amount })),
    };
    const feeRequest: AppendRequest | null =
      fee > 0n
        ? {
            kind: spendEntryKinds.fee,
            idempotencyKey: `spend:${current.id}:fee`,
            sourceRef: current.txHash ?? current.id,
            metadata: { walletId: current.walletId, spendId: current.id, txHash: current.txHash, fee: fee.toString() },
            postings: [{ source: accounts.available, destination: chart.fees(walletChain.chain), asset: walletChain.feeAsset.code, amount: fee }],
          }
        : null;
    const results = await t.append(feeRequest ? [releaseRequest, feeRequest] : [releaseRequest]);
    const releaseEntry = assertWritten(results[0], releaseRequest.idempotencyKey);
    if (feeRequest) assertWritten(results[1], feeRequest.idempotencyKey);
    await spendWindowsProjection.apply(t.client, spendWindowsProjection.table, releaseEntry.id - 1n, releaseEntry.id);
    return transition(t.client, current, wallet, { status: 'failed', code, ...(fee > 0n ? { fee } : {}), actor: 'executor', detail: { reason: reason.slice(0, 500) } });
  });
}
