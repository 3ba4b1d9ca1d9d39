// The store Subsquid's processor writes through (its `HotDatabase` contract, research/
// indexer-anchors.md §2.2–2.3). Every batch is one ledger-writer transaction that holds the
// ledger entries, the cursor, the unfinalized blocks and the open-deposit list, so a crash at
// any point leaves either all of a batch or none of it. What a deposit becomes in the ledger is
// the chain-neutral deposit core's business (indexers/core); this file adapts Subsquid's
// batches to it and records the EVM contract events later flows act on; sponsored user
// operations are booked once their block is final (sponsored.ts).
import type { FinalTxInfo, HashAndHeight, HotDatabase, HotDatabaseState, HotTxInfo } from '@subsquid/util-internal-processor-tools';
import { run, sql, sqlBuilder, type Logger, type Pool, type PoolClient } from '../../infra/index.ts';
import { listAssets, type LedgerTransaction, type LedgerWriter } from '../../ledger/index.ts';
import {
  DeepReorgError,
  deepReorgMessage,
  ensureCursor as ensureCoreCursor,
  clearHotBlocks,
  hotBlocks,
  IndexerStoppedError,
  keepHotBlocks,
  lockCursor,
  moveCursor,
  orphanTest,
  readCursor,
  recordStop,
  settleDeposits,
  type DepositCoreSettings,
  type DepositObservation,
  type OrphanScope,
} from '../core/index.ts';
import { evmDepositTransfer } from './entries.ts';
import { bookSponsoredOperations } from './sponsored.ts';
import { observeBlocks, type Block, type Observation, type ObserveSettings } from './observe.ts';

export { DeepReorgError, IndexerStoppedError };

export interface IndexerSettings {
  /** The indexer's name (its cursor row): `evm`. */
  indexer: string;
  /** The chain as deposit addresses and account paths name it: `ethereum`. */
  chain: string;
  nativeAsset: string;
  finalityDepth: number;
  startBlock: number;
  /** Contracts whose events are recorded (forwarder, EntryPoint). */
  eventContracts: readonly string[];
}

/** What the processor's handler fills: the observations of one batch. */
export class BatchCollector {
  readonly observations: Observation[] = [];
  private readonly settings: ObserveSettings;

  constructor(settings: ObserveSettings) {
    this.settings = settings;
  }

  add(blocks: readonly Block[]): void {
    this.observations.push(observeBlocks(blocks, this.settings));
  }

  merged(): Observation {
    return {
      blocks: this.observations.flatMap((o) => o.blocks),
      transfers: this.observations.flatMap((o) => o.transfers),
      events: this.observations.flatMap((o) => o.events),
    };
  }
}

export interface BatchStats {
  blocks: number;
  fromHeight: number;
  toHeight: number;
  deposits: number;
  confirmed: number;
  reversed: number;
  finalizedHeight: number;
}

type JsonRpc = <T>(method: string, params?: unknown[]) => Promise<T>;

export interface EvmLedgerDatabaseOptions {
  pool: Pool;
  writer: LedgerWriter;
  settings: IndexerSettings;
  rpc: JsonRpc;
  logger: Logger;
  /**
   * `follow` keeps the cursor and handles reorgs. `rescan` re-reads finalized blocks below the
   * cursor for deposits to addresses registered after they were paid: it writes deposits (their
   * keys make it idempotent) and touches no cursor.
   */
  mode?: 'follow' | 'rescan';
  /** The last block of the processor's range, if it has one: reaching it flushes what is held. */
  rangeEnd?: number;
  /** Finalized batches held back and written as one transaction, at most this many blocks… */
  flushBlocks?: number;
  /** …or this old. */
  flushMs?: number;
  onBatch?: (stats: BatchStats) => void;
}

/**
 * Finalized batches not yet written. The processor hands over 10 blocks at a time; writing each
 * as its own transaction made the store, not the chain, the bottleneck of a catch-up. So they
 * are grouped, like the ledger writer's group commit: the cursor moves only when the group
 * commits, so a crash loses nothing but the work of re-reading the group.
 */
interface HeldBatches {
  prevHead: HashAndHeight;
  nextHead: HashAndHeight;
  observations: Observation[];
  blocks: number;
  since: number;
}

export class EvmLedgerDatabase implements HotDatabase<BatchCollector> {
  readonly supportsHotBlocks = true as const;
  private readonly options: EvmLedgerDatabaseOptions;
  private readonly settings: IndexerSettings;
  private readonly coreSettings: DepositCoreSettings;
  private readonly mode: 'follow' | 'rescan';
  private held: HeldBatches | null = null;
  /** The group being written while the processor fetches the next blocks. */
  private writing: Promise<void> | null = null;
  private observeCache: { settings: ObserveSettings; at: number } | null = null;

  constructor(options: EvmLedgerDatabaseOptions) {
    this.options = options;
    this.settings = options.settings;
    const { indexer, chain, finalityDepth } = options.settings;
    this.coreSettings = { indexer, chain, finalityDepth, caseInsensitiveAddresses: true };
    this.mode = options.mode ?? 'follow';
  }

  async connect(): Promise<HotDatabaseState> {
    if (this.mode === 'rescan') return { height: -1, hash: '0x', top: [] };
    const { pool, settings } = this.options;
    await ensureCursor(pool, settings);
    const cursor = (await readCursor(pool, settings.indexer))!;
    if (cursor.stopped_reason) throw new IndexerStoppedError(cursor.stopped_reason);
    const height = Number(cursor.height);
    if (height >= 0 && cursor.hash !== '0x') {
      const onChain = await blockHash(this.options.rpc, height);
      if (onChain !== cursor.hash) {
        const reason = deepReorgMessage(settings, height, cursor.hash, onChain);
        await recordStop(pool, settings.indexer, reason);
        throw new DeepReorgError(reason);
      }
    }
    return { height, hash: cursor.hash, top: await hotBlocks(pool, settings.indexer) };
  }

  /** A batch of finalized blocks: observed now, written with the group it joins. */
  async transact(info: FinalTxInfo, cb: (store: BatchCollector) => Promise<void>): Promise<void> {
    const collector = new BatchCollector(await this.cachedObserveSettings());
    await cb(collector);
    const observation = collector.merged();
    if (!this.held) this.held = { prevHead: info.prevHead, nextHead: info.nextHead, observations: [], blocks: 0, since: Date.now() };
    this.held.nextHead = info.nextHead;
    this.held.observations.push(observation);
    this.held.blocks += observation.blocks.length;
    const atEnd = this.options.rangeEnd !== undefined && info.nextHead.height >= this.options.rangeEnd;
    if (info.isOnTop || atEnd) {
      await this.flush();
    } else if (this.held.blocks >= (this.options.flushBlocks ?? 2_000) || Date.now() - this.held.since >= (this.options.flushMs ?? 2_000)) {
      // One group in flight: wait for the previous one (its error surfaces here), then write this
      // one while the processor fetches on. More batches follow (not at the top, not at the end),
      // so the next call always awaits it.
      await this.writing;
      const group = this.take();
      this.writing = this.write(group);
      this.writing.catch(() => undefined);
    }
  }

  /** Writes everything held; resolves once it is committed. */
  async flush(): Promise<void> {
    await this.writing;
    this.writing = null;
    await this.write(this.take());
  }

  private take(): HeldBatches | null {
    const held = this.held;
    this.held = null;
    return held;
  }

  /** Writes a group of finalized batches in one transaction, with the cursor. */
  private async write(held: HeldBatches | null): Promise<void> {
    if (!held) return;
    const observation: Observation = {
      blocks: held.observations.flatMap((o) => o.blocks),
      transfers: held.observations.flatMap((o) => o.transfers),
      events: held.observations.flatMap((o) => o.events),
    };
    await this.options.writer.transaction(async (tx) => {
      if (this.mode === 'rescan') {
        await this.settle(tx, observation, null, held.nextHead.height);
        return;
      }
      const cursor = await lockCursor(tx.client, this.settings.indexer);
      if (Number(cursor.height) !== held.prevHead.height || cursor.hash !== held.prevHead.hash) {
        throw new Error(`the ${this.settings.indexer} cursor moved under this process (is a second indexer running?)`);
      }
      // Blocks held as unfinalized before a restart come back here: those delivered with the
      // same hash replay idempotently, the others are checked as orphans.
      await this.settle(tx, observation, { afterHeight: held.prevHead.height, throughHeight: held.nextHead.height }, held.nextHead.height);
      await bookSponsoredOperations(tx, this.settings, held.prevHead.height, held.nextHead.height);
      await clearHotBlocks(tx.client, this.settings.indexer);
      await moveCursor(tx.client, this.settings.indexer, held.nextHead, held.nextHead.height);
    });
  }

  /** @deprecated by Subsquid in favour of transactHot2; kept because the interface requires it. */
  transactHot(info: HotTxInfo, cb: (store: BatchCollector, block: HashAndHeight) => Promise<void>): Promise<void> {
    return this.transactHot2(info, async (store, start, end) => {
      for (let i = start; i < end; i += 1) await cb(store, info.newBlocks[i]!);
    });
  }

  /**
   * Blocks at the head. `baseHead` is the common ancestor: whatever this store holds above it
   * was dropped by a reorg. `finalizedHead` says which blocks are now deep enough to confirm.
   */
  async transactHot2(info: HotTxInfo, cb: (store: BatchCollector, start: number, end: number) => Promise<void>): Promise<void> {
    if (this.mode === 'rescan') throw new Error('a rescan reads finalized blocks only');
    await this.flush();
    try {
      await this.options.writer.transaction(async (tx) => {
        const cursor = await lockCursor(tx.client, this.settings.indexer);
        const chain = [{ height: Number(cursor.height), hash: cursor.hash }, ...(await hotBlocks(tx.client, this.settings.indexer))];
        const base = chain.find((block) => block.height === info.baseHead.height && block.hash === info.baseHead.hash);
        if (!base) {
          throw new DeepReorgError(deepReorgMessage(this.settings, info.baseHead.height, chain.find((b) => b.height === info.baseHead.height)?.hash ?? '(not held)', info.baseHead.hash));
        }
        const collector = new BatchCollector(await this.observeSettings(tx.client));
        await cb(collector, 0, info.newBlocks.length);
        const finalized = info.finalizedHead.height > chain[0]!.height ? info.finalizedHead : chain[0]!;
        await this.settle(tx, collector.merged(), { afterHeight: base.height, throughHeight: null }, finalized.height);
        await bookSponsoredOperations(tx, this.settings, chain[0]!.height, finalized.height);
        await keepHotBlocks(tx.client, this.settings.indexer, base.height, finalized.height, info.newBlocks.filter((block) => block.height > finalized.height));
        const processed = info.newBlocks.at(-1)?.height ?? base.height;
        await moveCursor(tx.client, this.settings.indexer, finalized, Math.max(processed, finalized.height));
      });
    } catch (error) {
      if (error instanceof DeepReorgError) await recordStop(this.options.pool, this.settings.indexer, error.message);
      throw error;
    }
  }

  /** For finalized batches, read outside any transaction and kept for a second. */
  private async cachedObserveSettings(): Promise<ObserveSettings> {
    if (this.observeCache && Date.now() - this.observeCache.at < 1_000) return this.observeCache.settings;
    const client = await this.options.pool.connect();
    try {
      this.observeCache = { settings: await this.observeSettings(client), at: Date.now() };
      return this.observeCache.settings;
    } finally {
      client.release();
    }
  }

  private async observeSettings(client: PoolClient): Promise<ObserveSettings> {
    // Read per batch: a token registered while the indexer runs is picked up at the next batch.
    const tokens = new Map<string, string>();
    for (const asset of await listAssets(client)) {
      if (asset.chain === this.settings.chain && asset.contract !== null) tokens.set(asset.contract.toLowerCase(), asset.code);
    }
    return {
      nativeAsset: this.settings.nativeAsset,
      tokens,
      eventContracts: new Set(this.settings.eventContracts.map((address) => address.toLowerCase())),
    };
  }

  /** The deposits through the core, then the contract events of the same blocks. */
  private async settle(tx: LedgerTransaction, observation: Observation, orphans: OrphanScope | null, finalizedHeight: number): Promise<void> {
    const deposits: DepositObservation = { blocks: observation.blocks, transfers: observation.transfers.map((transfer) => evmDepositTransfer(transfer)) };
    const stats = await settleDeposits(tx, this.coreSettings, deposits, orphans, finalizedHeight);
    const client = tx.client;
    if (orphans) await this.orphanEvents(client, orphans, orphanTest(observation, orphans));

    if (observation.events.length > 0) {
      const events = observation.events;
      // One statement per batch, columns as arrays: a batch can carry thousands of events.
      await run(
        client,
        sql`INSERT INTO evm_contract_events (indexer, block_height, block_hash, tx_hash, log_index, contract, event, args, block_time)
            SELECT ${this.settings.indexer}, *
              FROM unnest(${events.map((e) => e.block.height)}::bigint[], ${events.map((e) => e.block.hash)}::text[], ${events.map((e) => e.txHash)}::text[],
                          ${events.map((e) => e.logIndex)}::int[], ${events.map((e) => e.contract)}::text[], ${events.map((e) => e.event)}::text[],
                          ${events.map((e) => JSON.stringify(e.args))}::jsonb[], ${events.map((e) => e.block.timestamp)}::timestamptz[])
            ON CONFLICT DO NOTHING`,
      );
    }

    this.options.onBatch?.({
      blocks: observation.blocks.length,
      fromHeight: observation.blocks[0]?.height ?? finalizedHeight,
      toHeight: observation.blocks.at(-1)?.height ?? finalizedHeight,
      ...stats,
      finalizedHeight,
    });
  }

  /** Contract events from orphaned blocks are kept and marked. */
  private async orphanEvents(client: PoolClient, scope: OrphanScope, isOrphaned: (height: number, hash: string) => boolean): Promise<void> {
    let held = sqlBuilder
      .selectFrom('evm_contract_events')
      .select(['block_height', 'block_hash'])
      .distinct()
      .where('indexer', '=', this.settings.indexer)
      .where('orphaned', '=', false)
      .where('block_height', '>', BigInt(scope.afterHeight));
    if (scope.throughHeight !== null) held = held.where('block_height', '<=', BigInt(scope.throughHeight));
    const gone = (await run(client, held)).filter((row) => isOrphaned(Number(row.block_height), row.block_hash)).map((row) => row.block_hash);
    if (gone.length > 0) {
      await run(client, sqlBuilder.updateTable('evm_contract_events').set({ orphaned: true }).where('indexer', '=', this.settings.indexer).where('block_hash', 'in', gone));
    }
  }
}

export async function ensureCursor(db: Pool | PoolClient, settings: IndexerSettings): Promise<void> {
  await ensureCoreCursor(db, { indexer: settings.indexer, chain: settings.chain, finalityDepth: settings.finalityDepth, startBlock: settings.startBlock });
}

export async function blockHash(rpc: JsonRpc, height: number): Promise<string | null> {
  const block = await rpc<{ hash: string } | null>('eth_getBlockByNumber', [`0x${height.toString(16)}`, false]);
  return block?.hash ?? null;
}
