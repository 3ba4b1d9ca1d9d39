// `coffer indexer rewind`: the operator's way out of a reorg deeper than the finality depth,
// for every chain. In one ledger transaction it reverses every deposit from a block the chain
// no longer has — the confirmation first (custody → pending), then the deposit (pending →
// world) — lets the chain's indexer mark what else it recorded from such blocks (EVM contract
// events), moves the cursor back to `to` and clears the stop.
// Deposits in blocks still on the chain are kept: when the indexer re-reads them, their entries
// replay (same keys), so rewinding further back than needed costs time, never correctness.
import { CodedError, enqueue, run, runFirst, sql, sqlBuilder, type Pool, type PoolClient } from '../../infra/index.ts';
import { catchUp, depositEntryKinds, depositsAbove, depositsProjection, type AppendRequest, type LedgerWriter } from '../../ledger/index.ts';
import { depositAccounts, depositReversal } from './accounts.ts';
import { clearHotBlocks } from './cursor.ts';

export interface RewindReport {
  indexer: string;
  from: number;
  to: number;
  depositsReversed: number;
  confirmationsReversed: number;
  depositsKept: number;
  eventsOrphaned: number;
}

const rewindErrorCodes = ['rewind_refused', 'nothing_to_rescan'] as const;

/** An operator's rewind or rescan that cannot run as asked; nothing was changed. */
export class RewindError extends CodedError<(typeof rewindErrorCodes)[number]> {
  static readonly codes = rewindErrorCodes;
  override name = 'RewindError';
}

export interface RewindOptions {
  pool: Pool;
  writer: LedgerWriter;
  settings: { indexer: string; chain: string };
  to: number;
  /** The chain's block hash at a height now, null where it has none. */
  blockHashAt: (height: number) => Promise<string | null>;
  /** Chain-specific records of orphaned blocks, in the same transaction; returns how many it marked. */
  orphanRecords?: (client: PoolClient, canonicalHashesAbove: (heights: number[]) => Promise<string[]>) => Promise<number>;
}

export async function rewindIndexer(options: RewindOptions): Promise<RewindReport> {
  const { pool, writer, settings, to, blockHashAt } = options;
  if (!Number.isInteger(to) || to < -1) throw new RewindError('rewind_refused', '--to must be a block height (or -1 for the very beginning)');
  const cursor = await runFirst(pool, sqlBuilder.selectFrom('indexer_cursors').select('processed_height').where('indexer', '=', settings.indexer));
  if (!cursor) throw new RewindError('rewind_refused', `the ${settings.indexer} indexer has never run; there is nothing to rewind`);
  const from = Number(cursor.processed_height);
  if (to > from) throw new RewindError('rewind_refused', `the ${settings.indexer} indexer is at block ${from}; --to ${to} is ahead of it`);
  const toHash = to >= 0 ? await blockHashAt(to) : '0x';
  if (!toHash) throw new RewindError('rewind_refused', `the chain has no block ${to}`);

  // The deposit view knows every deposit with its block; bring it up to date first.
  await catchUp(pool, depositsProjection);
  const deposits = await depositsAbove(pool, settings.chain, to);
  const canonical = new Map<number, string | null>();
  for (const height of new Set(deposits.map((d) => Number(d.block_height)))) canonical.set(height, await blockHashAt(height));
  const gone = deposits.filter((d) => canonical.get(Number(d.block_height)) !== d.block_hash);

  return writer.transaction(async (tx) => {
    await run(tx.client, sqlBuilder.selectFrom('indexer_cursors').select('indexer').where('indexer', '=', settings.indexer).forUpdate());
    const requests: AppendRequest[] = [];
    let confirmationsReversed = 0;
    for (const d of gone) {
      // The deposit's key is `<keyBase>:deposit@<blockhash>` on every chain.
      const keyBase = d.deposit_key.slice(0, d.deposit_key.lastIndexOf(':deposit@'));
      const { pending, custody } = depositAccounts(settings.chain, d.address, d.wallet_id);
      const amount = BigInt(d.amount);
      const metadata = { indexer: settings.indexer, reason: 'rewind', blockHeight: Number(d.block_height), blockHash: d.block_hash, rewindTo: to };
      if (d.confirmed_entry_id !== null && !d.confirmation_reversed) {
        confirmationsReversed += 1;
        requests.push({
          kind: depositEntryKinds.confirmationReversal,
          idempotencyKey: `${keyBase}:confirm-reversal@${d.block_hash}`,
          reverses: d.confirmed_entry_id,
          sourceRef: keyBase,
          metadata,
          postings: [{ source: custody, destination: pending, asset: d.asset, amount }],
        });
      }
      requests.push(
        depositReversal({ chain: settings.chain, keyBase, blockHash: d.block_hash, depositEntryId: d.entry_id, pendingAccount: pending, asset: d.asset, amount, metadata }),
      );
    }
    const results = await tx.append(requests);
    const refused = results.flatMap((result, i) => (result.status === 'created' || result.status === 'replayed' ? [] : [{ key: requests[i]!.idempotencyKey, result }]));
    if (refused.length > 0) {
      // Most likely custody already swept to the treasury: taking it back needs an operator's decision.
      const first = refused[0]!;
      const why = first.result.status === 'rejected' ? first.result.rejection.message : first.result.status;
      throw new RewindError('rewind_refused', `the ledger refused ${refused.length} reversal(s), first ${first.key}: ${why}; nothing was changed`);
    }
    // A reversed confirmation takes its credit back (or stops it being given): in this transaction.
    await enqueue(
      tx.client,
      gone.flatMap((d) =>
        d.confirmed_entry_id !== null && !d.confirmation_reversed && d.wallet_id === null
          ? [{ queue: 'credits' as const, name: 'credit-reversal', dedupeKey: `credit-reversal:${d.confirmed_entry_id}`, payload: { confirmationEntryId: d.confirmed_entry_id.toString() } }]
          : [],
      ),
    );
    if (gone.length > 0) await run(tx.client, sqlBuilder.deleteFrom('indexer_open_deposits').where('entry_id', 'in', gone.map((d) => d.entry_id)));
    const canonicalHashesAbove = async (heights: number[]) => {
      const hashes: string[] = [];
      for (const height of heights) {
        const hash = await blockHashAt(height);
        if (hash) hashes.push(hash);
      }
      return hashes;
    };
    const eventsOrphaned = (await options.orphanRecords?.(tx.client, canonicalHashesAbove)) ?? 0;
    await clearHotBlocks(tx.client, settings.indexer);
    await run(
      tx.client,
      sqlBuilder
        .updateTable('indexer_cursors')
        .set({ height: BigInt(to), hash: toHash, processed_height: BigInt(to), stopped_reason: null, updated_at: sql<Date>`now()` })
        .where('indexer', '=', settings.indexer),
    );
    return {
      indexer: settings.indexer,
      from,
      to,
      depositsReversed: gone.length,
      confirmationsReversed,
      depositsKept: deposits.length - gone.length,
      eventsOrphaned,
    };
  });
}
