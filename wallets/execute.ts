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
import { firstRow, type Logger, type Pool } from '../infra/index.ts';
import { chart, spendEntryKinds, spendWindowsProjection, type AppendRequest, type AppendResult, type JournalEntry, type LedgerWriter } from '../ledger/index.ts';
import { SignerError, type Signer } from '../signer/index.ts';
import { getSpend, transition, type Spend } from './spends.ts';
import { lockWallet, walletAccounts, walletChain, WalletError, type Address, type Hex } from './wallets.ts';

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


export async function executeSpend(context: ExecuteContext, spendId: string): Promise<ExecuteOutcome> {
  const spend = await getSpend(context.pool, spendId);
  if (!spend) throw new WalletError('spend_not_found', `no spend ${spendId}`);
  const outcome = (s: Spend): ExecuteOutcome => ({ status: s.status, txHash: s.txHash, fee: s.fee, code: s.code });
  if (spend.status !== 'allowed' && spend.status !== 'submitted') return outcome(spend);
  const submitted = spend.status === 'submitted' ? spend : await signAndStore(context, spend);
  if (submitted.status !== 'submitted') return outcome(submitted);
  return outcome(await broadcastAndTrack(context, walletChain.connect({ rpcUrl: context.rpcUrl }), submitted));
}

async function signAndStore(context: ExecuteContext, spend: Spend): Promise<Spend> {
  const { rows } = await context.pool.query<{ address: Address; predecessor: string; path: string }>('SELECT address, predecessor, path FROM wallets WHERE id = $1', [spend.walletId]);
  const wallet = firstRow(rows, `wallet ${spend.walletId}`);
  // One signer of a wallet's nonces at a time, across workers.
  const lock = await context.pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`spend-nonce:${spend.walletId}`]);
    const current = (await getSpend(context.pool, spend.id))!;
    if (current.status !== 'allowed') return current;
    const { rows: nonceRows } = await context.pool.query<{ next_nonce: bigint | null }>('SELECT next_nonce FROM wallets WHERE id = $1', [spend.walletId]);
    let nonce: number;
    let signed: { id: string; raw: string };
    try {
      ({ nonce, signed } = await signEvmCall({
        rpcUrl: context.rpcUrl,
        signer: context.signer,
        key: { predecessor: wallet.predecessor, path: wallet.path },
        from: wallet.address,
        call: { to: current.txTo, value: current.txValue, data: current.txData },
        gas: { gasLimit: current.gasLimit!, maxFeePerGas: current.maxFeePerGas!, maxPriorityFeePerGas: current.maxPriorityFeePerGas! },
        nonceFloor: nonceRows[0]?.next_nonce ?? 0n,
      }));
    } catch (error) {
      if (!(error instanceof SignerError)) throw error;
      // Fail closed: the spend does not happen, and its budget and funds come back.
      return release(context, current, 'signer_unavailable', error.message, 0n);
    }
    const { raw, id: txHash } = signed;
    return await context.writer.transaction(async (t) => {
      const walletRow = await lockWallet(t.client, spend.walletId);
      await t.client.query('UPDATE spends SET nonce = $2, tx_hash = $3, raw_tx = $4 WHERE id = $1', [spend.id, nonce, txHash, raw]);
      await t.client.query('UPDATE wallets SET next_nonce = $2 WHERE id = $1', [spend.walletId, nonce + 1]);
      return transition(t.client, current, walletRow, { status: 'submitted', actor: 'executor', detail: { txHash, nonce } });
    });
  } finally {
    await lock.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    lock.release();
  }
}

async function broadcastAndTrack(context: ExecuteContext, client: ChainClient, spend: Spend): Promise<Spend> {
  const sent = await client.broadcast({ id: spend.txHash!, raw: spend.rawTx! });
  if (sent.status === 'refused') return release(context, spend, 'broadcast_refused', sent.message, 0n);
  const confirmed = await awaitConfirmations(client, spend.txHash!, { confirmations: context.confirmations, timeoutMs: context.trackTimeoutMs ?? 120_000, pollIntervalMs: context.pollIntervalMs ?? 250 });
  if (!confirmed) throw new Error(`spend ${spend.id}: ${spend.txHash} not confirmed yet; will check again`);
  if (!confirmed.success) return release(context, spend, 'reverted', `the transaction reverted in block ${confirmed.height}`, confirmed.fee);
  return settle(context, spend, confirmed.fee, confirmed.height);
}

function assertWritten(result: AppendResult | undefined, key: string): JournalEntry {
  if (!result || (result.status !== 'created' && result.status !== 'replayed')) throw new Error(`the ledger refused ${key}: ${result?.status}`);
  return result.entry;
}

async function settle(context: ExecuteContext, spend: Spend, fee: bigint, blockNumber: bigint): Promise<Spend> {
  const accounts = walletAccounts(spend.walletId);
  return context.writer.transaction(async (t) => {
    const wallet = await lockWallet(t.client, spend.walletId);
    const current = (await getSpend(t.client, spend.id))!;
    if (current.status !== 'submitted') return current;
    const reserve = current.gasReserve ?? 0n;
    const gas = walletChain.feeAsset.code;
    const postings = [{ source: accounts.held, destination: chart.world(walletChain.chain), asset: current.asset, amount: current.amount }];
    if (fee > 0n) postings.push({ source: accounts.held, destination: chart.fees(walletChain.chain), asset: gas, amount: fee });
    if (reserve > fee) postings.push({ source: accounts.held, destination: accounts.available, asset: gas, amount: reserve - fee });
    const key = `spend:${current.id}:settled`;
    const [result] = await t.append([
      { kind: spendEntryKinds.settled, idempotencyKey: key, sourceRef: current.txHash!, metadata: { walletId: current.walletId, spendId: current.id, txHash: current.txHash, blockNumber: Number(blockNumber), fee: fee.toString() }, postings },
    ]);
    const entry = assertWritten(result, key);
    await t.client.query('UPDATE spends SET fee = $2, settled_entry_id = $3 WHERE id = $1', [current.id, fee.toString(), entry.id.toString()]);
    return transition(t.client, current, wallet, { status: 'confirmed', actor: 'executor', detail: { txHash: current.txHash, blockNumber: Number(blockNumber), fee: fee.toString() } });
  });
}

/** The spend did not happen: the hold is reversed (budget and funds back), gas burned is booked. */
async function release(context: Pick<ExecuteContext, 'writer'>, spend: Spend, code: string, reason: string, fee: bigint): Promise<Spend> {
  const accounts = walletAccounts(spend.walletId);
  return context.writer.transaction(async (t) => {
    const wallet = await lockWallet(t.client, spend.walletId);
    const current = (await getSpend(t.client, spend.id))!;
    if (current.status !== 'allowed' && current.status !== 'submitted') return current;
    const { rows } = await t.client.query<{ posting_index: number; source: string; destination: string; asset: string; amount: string }>(
      `SELECT p.posting_index, src.path AS source, dst.path AS destination, s.code AS asset, p.amount::text
         FROM postings p JOIN accounts src ON src.id = p.source_account_id JOIN accounts dst ON dst.id = p.destination_account_id
         JOIN assets s ON s.id = p.asset_id WHERE p.entry_id = $1 ORDER BY p.posting_index`,
      [current.holdEntryId!.toString()],
    );
    const requests: AppendRequest[] = [
      {
        kind: spendEntryKinds.release,
        idempotencyKey: `spend:${current.id}:release`,
        reverses: current.holdEntryId!,
        sourceRef: current.id,
        metadata: { walletId: current.walletId, spendId: current.id, code, reason: reason.slice(0, 500) },
        postings: rows.map((p) => ({ source: p.destination, destination: p.source, asset: p.asset, amount: BigInt(p.amount) })),
      },
    ];
    if (fee > 0n) {
      requests.push({
        kind: spendEntryKinds.fee,
        idempotencyKey: `spend:${current.id}:fee`,
        sourceRef: current.txHash ?? current.id,
        metadata: { walletId: current.walletId, spendId: current.id, txHash: current.txHash, fee: fee.toString() },
        postings: [{ source: accounts.available, destination: chart.fees(walletChain.chain), asset: walletChain.feeAsset.code, amount: fee }],
      });
    }
    const results = await t.append(requests);
    const releaseEntry = assertWritten(results[0], requests[0]!.idempotencyKey);
    if (fee > 0n) assertWritten(results[1], requests[1]!.idempotencyKey);
    await spendWindowsProjection.apply(t.client, spendWindowsProjection.table, releaseEntry.id - 1n, releaseEntry.id);
    if (fee > 0n) await t.client.query('UPDATE spends SET fee = $2 WHERE id = $1', [current.id, fee.toString()]);
    return transition(t.client, current, wallet, { status: 'failed', code, actor: 'executor', detail: { reason: reason.slice(0, 500) } });
  });
}
