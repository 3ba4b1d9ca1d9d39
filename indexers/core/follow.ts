// Following a chain block by block over its RPC, for every chain without a processor of its own
// (Bitcoin, Solana, NEAR; EVM has Subsquid's). A chain's indexer supplies a `BlockSource`; this
// loop keeps the cursor and the unfinalized ("hot") blocks, finds reorgs by comparing the hashes
// it holds with the chain's hash at each height (never by a node's confirmation count: bcoin
// keeps stale blocks readable with a positive one), and hands each batch to the deposit core in
// one ledger transaction. While that transaction writes, the next range is already being read
// (the node and the database are other processes: catching up costs the slower of the two, not
// their sum). Memory stays bounded: at most two batches of `batchBlocksMax` blocks.
import type { Logger, Pool } from '../../infra/index.ts';
import type { LedgerWriter } from '../../ledger/index.ts';
import { DeepReorgError, deepReorgMessage, ensureCursor, hotBlocks, IndexerStoppedError, keepHotBlocks, recordChainHead, lockCursor, moveCursor, readCursor, recordStop, type CursorSettings } from './cursor.ts';
import { settleDeposits } from './deposits.ts';
import type { BlockRef, DepositCoreSettings, ObservedTransfer, SettleStats } from './types.ts';

export interface SourceBlock {
  ref: BlockRef & { parentHash: string };
  transfers: ObservedTransfer[];
}

/** What a chain's indexer reads from its node. Heights are the chain's own (slots on Solana). */
export interface BlockSource {
  /** The newest height, and the newest height whose block is final (by depth or by the chain's finality). */
  heads(): Promise<{ head: number; finalized: number }>;
  /** The chain's block hash at a height now; null where it has none (past the head, a skipped slot). */
  hashAt(height: number): Promise<string | null>;
  /** The blocks after `after` up to `through` (inclusive), in height order, with the transfers in them. Heights without a block are left out. */
  blocks(after: number, through: number): Promise<SourceBlock[]>;
}

export interface FollowSettings extends CursorSettings, DepositCoreSettings {
  /** The most blocks read and written as one batch (one ledger transaction). */
  batchBlocksMax: number;
  /** How long to wait when the indexer has caught up with the head. */
  pollIntervalMs: number;
}

export interface FollowBatch extends SettleStats {
  fromHeight: number;
  toHeight: number;
  blocks: number;
  finalizedHeight: number;
  head: number;
}

/**
 * The next range, read while the previous batch was written: the blocks after `after` (whose
 * hash was `afterHash`), with the heads read before them. Used only if the next pass starts
 * from that very block; heads read before the blocks keep "a block at or below `finalized` is
 * final" true of what was read.
 */
interface Prefetch {
  after: number;
  afterHash: string;
  heads: { head: number; finalized: number };
  blocks: Promise<SourceBlock[]>;
}

export class ChainFollower {
  private readonly options: { pool: Pool; writer: LedgerWriter; source: BlockSource; settings: FollowSettings; logger: Logger; onBatch?: (batch: FollowBatch) => void };
  private stopping = false;
  private prefetch: Prefetch | null = null;

  constructor(options: ChainFollower['options']) {
    this.options = options;
  }

  /** Checks the cursor's block is still on the chain; a stopped indexer or a deep reorg throws. */
  async connect(): Promise<void> {
    const { pool, settings, source } = this.options;
    await ensureCursor(pool, settings);
    const cursor = (await readCursor(pool, settings.indexer))!;
    if (cursor.stopped_reason) throw new IndexerStoppedError(cursor.stopped_reason);
    const height = Number(cursor.height);
    if (height >= 0 && cursor.hash !== '0x') {
      const onChain = await source.hashAt(height);
      if (onChain !== cursor.hash) await this.stop(deepReorgMessage(settings, height, cursor.hash, onChain));
    }
  }

  /** Follows until `stop()`; each pass reads at most one batch. */
  async run(): Promise<void> {
    await this.connect();
    while (!this.stopping) {
      const batch = await this.step();
      if (!batch || batch.toHeight >= batch.head) await new Promise((resolve) => setTimeout(resolve, this.options.settings.pollIntervalMs));
    }
  }

  halt(): void {
    this.stopping = true;
  }

  /**
   * One pass: find where the held chain and the node's chain part, read the next blocks from
   * there, and settle them with the deposit core. Returns null when there was nothing to do.
   */
  async step(): Promise<FollowBatch | null> {
    const { pool, source, settings } = this.options;
    const cursor = (await readCursor(pool, settings.indexer))!;
    if (cursor.stopped_reason) throw new IndexerStoppedError(cursor.stopped_reason);
    const final = { height: Number(cursor.height), hash: cursor.hash };
    const held = await hotBlocks(pool, settings.indexer);

    // The highest held block the chain still has is the base; everything held above it is gone.
    let base = held.length > 0 ? null : final;
    for (let i = held.length - 1; i >= 0 && !base; i -= 1) {
      const block = held[i]!;
      if ((await source.hashAt(block.height)) === block.hash) base = block;
    }
    if (!base) {
      const onChain = final.height >= 0 && final.hash !== '0x' ? await source.hashAt(final.height) : final.hash;
      if (onChain !== final.hash) await this.stop(deepReorgMessage(settings, final.height, final.hash, onChain));
      base = final;
    }
    const reorged = held.some((block) => block.height > base.height);

    const prefetched = this.takePrefetch(base);
    const { head, finalized } = prefetched?.heads ?? (await source.heads());
    const through = Math.min(head, base.height + settings.batchBlocksMax);
    const blocks = prefetched ? await prefetched.blocks : through > base.height ? await source.blocks(base.height, through) : [];
    // Parent links: a block whose parent is not the one before it means the chain moved while we read.
    let previous = base;
    for (const block of blocks) {
      if (previous.hash !== '0x' && block.ref.height === previous.height + 1 && block.ref.parentHash !== previous.hash) return null;
      previous = { height: block.ref.height, hash: block.ref.hash };
    }
    const readThrough = blocks.at(-1)?.ref.height ?? base.height;
    const finalizedHeight = Math.max(final.height, Math.min(finalized, readThrough));
    if (blocks.length === 0 && !reorged && finalizedHeight === final.height) return null;

    const known = new Map<number, string>([[final.height, final.hash], ...held.filter((b) => b.height <= base.height).map((b) => [b.height, b.hash] as [number, string]), ...blocks.map((b) => [b.ref.height, b.ref.hash] as [number, string])]);
    const finalizedHash = known.get(finalizedHeight) ?? (await source.hashAt(finalizedHeight));
    if (!finalizedHash) return null;

    // Still catching up: read the next range while this one is written.
    const last = blocks.at(-1);
    if (last && readThrough < head) this.startPrefetch({ after: readThrough, afterHash: last.ref.hash, heads: { head, finalized } });

    const stats = await this.options.writer.transaction(async (tx) => {
      const locked = await lockCursor(tx.client, settings.indexer);
      if (Number(locked.height) !== final.height || locked.hash !== final.hash) {
        throw new Error(`the ${settings.indexer} cursor moved under this process (is a second indexer running?)`);
      }
      const settled = await settleDeposits(
        tx,
        settings,
        { blocks: blocks.map((b) => b.ref), transfers: blocks.flatMap((b) => b.transfers) },
        { afterHeight: base.height, throughHeight: null },
        finalizedHeight,
      );
      await keepHotBlocks(tx.client, settings.indexer, base.height, finalizedHeight, blocks.filter((b) => b.ref.height > finalizedHeight).map((b) => b.ref));
      await moveCursor(tx.client, settings.indexer, { height: finalizedHeight, hash: finalizedHash }, Math.max(readThrough, finalizedHeight));
      await recordChainHead(tx.client, settings.indexer, head, { monotonic: true });
      return settled;
    });
    const batch: FollowBatch = { ...stats, fromHeight: base.height + 1, toHeight: readThrough, blocks: blocks.length, finalizedHeight, head };
    this.options.onBatch?.(batch);
    return batch;
  }

  private startPrefetch(from: Omit<Prefetch, 'blocks'>): void {
    const through = Math.min(from.heads.head, from.after + this.options.settings.batchBlocksMax);
    const blocks = this.options.source.blocks(from.after, through);
    // A read that fails is reported by the pass that uses it; one never used must not crash the process.
    blocks.catch(() => undefined);
    this.prefetch = { ...from, blocks };
  }

  /** The prefetched range if this pass starts where it does; otherwise (a reorg, a failed write) it is dropped. */
  private takePrefetch(base: { height: number; hash: string }): Prefetch | null {
    const prefetch = this.prefetch;
    this.prefetch = null;
    return prefetch && prefetch.after === base.height && prefetch.afterHash === base.hash ? prefetch : null;
  }

  private async stop(reason: string): Promise<never> {
    await recordStop(this.options.pool, this.options.settings.indexer, reason);
    this.options.logger.error('indexer stopped: reorg deeper than finality', { indexer: this.options.settings.indexer });
    throw new DeepReorgError(reason);
  }
}
