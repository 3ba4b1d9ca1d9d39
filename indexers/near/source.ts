// The NEAR `BlockSource` for the chain follower (ADR 0008): blocks by height over NEAR RPC, the
// new chunks in them, and the deposits those chunks carry. Heights are block heights (skipped
// ones are left out); the head is the `optimistic` block, the finalized height the `final` one.
//
// A receipt in a chunk says what was asked, not whether it happened: nearcore's RPC has no
// "outcome by receipt id", so each candidate receipt is resolved through the transaction that
// caused it (`EXPERIMENTAL_tx_status`, found by the receipt's signer among the transactions of the
// last `lookbackBlocks` blocks). Only receipts to watched accounts are resolved, so the cost is
// per deposit, not per block.
//   native NEAR   a receipt with Transfer actions to a watched account, not from `system`
//                 (refunds) nor signed by coffer's own account (refills), whose outcome
//                 succeeded on that account
//   NEP-141       `ft_transfer` events (`EVENT_JSON:` logs) of an accepted token's successful
//                 ft_transfer / ft_transfer_call receipt; an ft_transfer_call counts once its
//                 ft_resolve_transfer ran, net of the refund it sent back
import type { BlockSource, ObservedTransfer, SourceBlock } from '../core/index.ts';
import { ftTransferCall, ftTransferEvents, netOfRefunds, succeeded, transferYocto, type FtMethod } from './decode.ts';
import { NearRpcError, type BlockView, type ChunkView, type NearRpc, type OutcomeView, type ReceiptView, type TxStatusView } from './rpc.ts';

export const nearNativeAsset = 'NEAR';
/** How far back a receipt's transaction is looked for; a cross-contract chain longer than this stops the indexer with the receipt's id. */
export const lookbackBlocks = 200;
const fetchConcurrencyMax = 8;
/** Outcome lookups (`EXPERIMENTAL_tx_status`) in flight at once. */
const resolveConcurrencyMax = 8;

export interface FetchedBlock {
  block: BlockView;
  /** The chunks new in this block (`height_included` equal to its height). */
  chunks: ChunkView[];
}

/** Blocks after..through with their new chunks, fetched a few at a time; heights without a block are left out. */
export async function fetchBlocks(rpc: NearRpc, after: number, through: number): Promise<FetchedBlock[]> {
  const heights = Array.from({ length: Math.max(0, through - after) }, (_, i) => after + 1 + i);
  const fetched = await mapLimit(heights, fetchConcurrencyMax, async (height) => {
    const block = await blockAt(rpc, height);
    if (!block) return null;
    const fresh = block.chunks.filter((chunk) => chunk.height_included === block.header.height);
    const chunks = await Promise.all(fresh.map((chunk) => rpc<ChunkView>('chunk', { chunk_id: chunk.chunk_hash })));
    return { block, chunks };
  });
  return fetched.filter((b): b is FetchedBlock => b !== null);
}

async function blockAt(rpc: NearRpc, height: number): Promise<BlockView | null> {
  try {
    return await rpc<BlockView>('block', { block_id: height });
  } catch (error) {
    if (error instanceof NearRpcError && error.causeName === 'UNKNOWN_BLOCK') return null;
    throw error;
  }
}

export interface NearBlockSourceOptions {
  rpc: NearRpc;
  /** Accepted NEP-141 contracts → their asset codes. */
  tokens: ReadonlyMap<string, string>;
  /** Which of these accounts are deposit accounts (users' NEAR accounts, agent wallets). */
  watched(accountIds: string[]): Promise<ReadonlySet<string>>;
  /**
   * coffer's own NEAR accounts (COFFER_NEAR_ACCOUNT): NEAR they send to a user's account (signing
   * refills) is coffer's, booked by the refill, never a deposit.
   */
  ownSigners?: ReadonlySet<string>;
}

interface Candidate {
  at: number;
  receipt: ReceiptView;
  native: bigint;
  ft: { method: FtMethod } | null;
}

type Resolved = { tree: TxStatusView; outcome: OutcomeView | undefined };

export class NearBlockSource implements BlockSource {
  private readonly options: NearBlockSourceOptions;
  /** Transactions of recent blocks by height: where a receipt's transaction is looked for. */
  private readonly recent = new Map<number, { hash: string; signerId: string }[]>();

  constructor(options: NearBlockSourceOptions) {
    this.options = options;
  }

  async heads(): Promise<{ head: number; finalized: number }> {
    const [head, final] = await Promise.all([this.options.rpc<BlockView>('block', { finality: 'optimistic' }), this.options.rpc<BlockView>('block', { finality: 'final' })]);
    return { head: head.header.height, finalized: final.header.height };
  }

  async hashAt(height: number): Promise<string | null> {
    return (await blockAt(this.options.rpc, height))?.header.hash ?? null;
  }

  async blocks(after: number, through: number): Promise<SourceBlock[]> {
    const { rpc, tokens } = this.options;
    const [fetched] = await Promise.all([fetchBlocks(rpc, after, through), this.remember(after)]);
    for (const { block, chunks } of fetched) this.recent.set(block.header.height, chunks.flatMap((c) => c.transactions.map((t) => ({ hash: t.hash, signerId: t.signer_id }))));

    const candidates: Candidate[] = [];
    fetched.forEach(({ chunks }, at) => {
      for (const receipt of chunks.flatMap((c) => c.receipts)) {
        const fromCoffer = this.options.ownSigners?.has(receipt.receipt.Action?.signer_id ?? '') ?? false;
        const native = fromCoffer ? 0n : transferYocto(receipt);
        const ft = ftTransferCall(receipt, tokens);
        if (native > 0n || ft) candidates.push({ at, receipt, native, ft: ft ? { method: ft.method } : null });
      }
    });
    const receivers = new Set(candidates.map((c) => (c.ft ? ftTransferCall(c.receipt, tokens)!.receiverId : c.receipt.receiver_id)));
    const watched = receivers.size > 0 ? await this.options.watched([...receivers]) : new Set<string>();

    const indexByHash = new Map(fetched.map(({ block }, i) => [block.header.hash, i]));
    const transfers: ObservedTransfer[][] = fetched.map(() => []);
    // Every watched candidate's outcome is asked for at once, a few calls at a time, each
    // transaction once however many of its receipts are candidates: this phase sits between one
    // range's fetch and the next (the follower prefetches only after a range is resolved), so
    // one round trip per deposit in turn stretched every batch.
    const deposits = candidates.filter((candidate) => watched.has(candidate.ft ? ftTransferCall(candidate.receipt, tokens)!.receiverId : candidate.receipt.receiver_id));
    const trees = new Map<string, Promise<TxStatusView>>();
    const resolutions = await mapLimit(deposits, resolveConcurrencyMax, (candidate) =>
      this.resolve(candidate.receipt, fetched[candidate.at]!.block.header.height, trees).then(
        (resolved) => ({ resolved }),
        (error: unknown) => ({ error }),
      ),
    );
    // A receipt whose execution is not known yet ends the batch before its block: read again next pass.
    let cut = fetched.length;
    for (const [i, candidate] of deposits.entries()) {
      if (candidate.at >= cut) break;
      const resolution = resolutions[i]!;
      // Raised in chain order, so a receipt past the cut never stops the indexer before its turn.
      if ('error' in resolution) throw resolution.error;
      const { tree, outcome } = resolution.resolved;
      const executedAt = outcome ? indexByHash.get(outcome.block_hash) : undefined;
      if (!outcome || executedAt === undefined) {
        cut = candidate.at;
        break;
      }
      if (!succeeded(outcome.outcome.status) || outcome.outcome.executor_id !== candidate.receipt.receiver_id) continue;
      const block = refOf(fetched[executedAt]!.block);
      const txHash = tree.transaction.hash;
      if (candidate.native > 0n) {
        transfers[executedAt]!.push({
          block,
          position: candidate.receipt.receipt_id,
          txRef: txHash,
          reference: { txHash, receiptId: candidate.receipt.receipt_id, logIndex: null },
          to: candidate.receipt.receiver_id,
          asset: nearNativeAsset,
          contract: null,
          amount: candidate.native,
        });
      }
      if (candidate.ft) {
        let events = ftTransferEvents(outcome.outcome.logs);
        if (candidate.ft.method === 'ft_transfer_call') {
          const resolution = resolveOutcome(tree, outcome, candidate.receipt.receiver_id);
          if (resolution === 'pending') {
            cut = candidate.at;
            break;
          }
          events = netOfRefunds(events, resolution ? ftTransferEvents(resolution.outcome.logs) : []);
        }
        const contract = candidate.receipt.receiver_id;
        for (const event of events) {
          if (event.amount === 0n || !watched.has(event.to)) continue;
          transfers[executedAt]!.push({
            block,
            position: `${candidate.receipt.receipt_id}:${event.index}`,
            txRef: txHash,
            reference: { txHash, receiptId: candidate.receipt.receipt_id, logIndex: event.index },
            to: event.to,
            asset: tokens.get(contract)!,
            contract,
            amount: event.amount,
          });
        }
      }
    }
    for (const height of this.recent.keys()) if (height <= through - lookbackBlocks) this.recent.delete(height);
    return fetched.slice(0, cut).map(({ block }, i) => ({ ref: { ...refOf(block), parentHash: block.header.prev_hash }, transfers: transfers[i]! }));
  }

  /** After a restart: the transactions of the blocks before `after`, for receipts they caused later. */
  private async remember(after: number): Promise<void> {
    const from = Math.max(0, after - lookbackBlocks + 1);
    const missing: number[] = [];
    for (let height = from; height <= after; height += 1) if (!this.recent.has(height)) missing.push(height);
    if (missing.length === 0) return;
    const known = new Set(missing);
    const fetched = await fetchBlocks(this.options.rpc, missing[0]! - 1, missing.at(-1)!);
    for (const height of missing) this.recent.set(height, []);
    for (const { block, chunks } of fetched) {
      if (known.has(block.header.height)) this.recent.set(block.header.height, chunks.flatMap((c) => c.transactions.map((t) => ({ hash: t.hash, signerId: t.signer_id }))));
    }
  }

  /** The receipt's outcome (undefined while it has not executed), through its transaction. */
  private async resolve(receipt: ReceiptView, height: number, trees: Map<string, Promise<TxStatusView>>): Promise<Resolved> {
    const signerId = receipt.receipt.Action?.signer_id;
    for (let at = height; signerId && at > height - lookbackBlocks; at -= 1) {
      for (const tx of this.recent.get(at) ?? []) {
        if (tx.signerId !== signerId) continue;
        let asked = trees.get(tx.hash);
        if (!asked) {
          asked = this.options.rpc<TxStatusView>('EXPERIMENTAL_tx_status', { tx_hash: tx.hash, sender_account_id: signerId, wait_until: 'INCLUDED' });
          trees.set(tx.hash, asked);
        }
        const tree = await asked;
        const outcome = tree.receipts_outcome.find((o) => o.id === receipt.receipt_id);
        if (outcome || tree.receipts?.some((r) => r.receipt_id === receipt.receipt_id)) return { tree, outcome };
      }
    }
    throw new Error(
      `receipt ${receipt.receipt_id} (to ${receipt.receiver_id}, at block ${height}) has no transaction signed by ${signerId ?? 'anyone'} in the ${lookbackBlocks} blocks before it; its outcome cannot be read over RPC`,
    );
  }
}

/** The ft_resolve_transfer outcome that settled an ft_transfer_call; null when there is none, 'pending' before it ran. */
function resolveOutcome(tree: TxStatusView, call: OutcomeView, contract: string): OutcomeView | null | 'pending' {
  const outcomes = new Map(tree.receipts_outcome.map((o) => [o.id, o]));
  const resolve = (tree.receipts ?? []).find(
    (r) =>
      r.receiver_id === contract &&
      r.predecessor_id === contract &&
      call.outcome.receipt_ids.includes(r.receipt_id) &&
      r.receipt.Action?.actions.some((a) => typeof a === 'object' && (a.FunctionCall as { method_name?: string } | undefined)?.method_name === 'ft_resolve_transfer'),
  );
  if (!resolve) return null;
  return outcomes.get(resolve.receipt_id) ?? 'pending';
}

function refOf(block: BlockView) {
  return { height: block.header.height, hash: block.header.hash, timestamp: new Date(Number(BigInt(block.header.timestamp_nanosec) / 1_000_000n)) };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next;
      next += 1;
      results[i] = await work(items[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}
