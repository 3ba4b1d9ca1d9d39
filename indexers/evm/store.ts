// The store Subsquid's processor writes through (its `HotDatabase` contract, research/
// indexer-anchors.md §2.2–2.3). Every batch is one ledger-writer transaction that holds the
// ledger entries, the cursor, the unfinalized blocks and the open-deposit list, so a crash at
// any point leaves either all of a batch or none of it.
//
// A deposit's life in the ledger (SPEC Flow 2):
//   seen in a block         deposit.pending    world:<chain> → deposits:<chain>:<addr>:pending
//   block reaches depth N   deposit.confirmed  deposits:…:pending → custody:<chain>:<addr>
//   block dropped by reorg  deposit.reversal   (mirrors the pending entry)
// Nothing is ever deleted or updated in the ledger; a transaction that lands again in another
// block is a new observation (its key carries the block hash) and gets a new pending entry.
import type { FinalTxInfo, HashAndHeight, HotDatabase, HotDatabaseState, HotTxInfo } from '@subsquid/util-internal-processor-tools';
import type { Logger, Pool, PoolClient } from '../../infra/index.ts';
import { depositEntryKinds, type AppendRequest, type AppendResult, type LedgerTransaction, type LedgerWriter } from '../../ledger/index.ts';
import { enqueue } from '../../jobs/index.ts';
import { depositAccounts, depositKeyBase, depositReversal } from './entries.ts';
import { observeBlocks, type Block, type Observation, type ObserveSettings } from './observe.ts';

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

export class IndexerStoppedError extends Error {
  override name = 'IndexerStoppedError';
}

/** Thrown when the chain no longer holds a block the indexer already treated as final. */
export class DeepReorgError extends IndexerStoppedError {
  override name = 'DeepReorgError';
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

interface OpenDeposit {
  entry_id: bigint;
  block_height: bigint;
  block_hash: string;
  key_base: string;
  pending_account: string;
  custody_account: string;
  asset: string;
  amount: string;
}

interface CursorRow {
  height: bigint;
  hash: string;
  stopped_reason: string | null;
}

type JsonRpc = <T>(method: string, params?: unknown[]) => Promise<T>;

/** The range of heights a batch speaks for: open deposits there not on the delivered blocks are orphaned. */
interface OrphanScope {
  afterHeight: number;
  throughHeight: number | null;
}

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
  private readonly mode: 'follow' | 'rescan';
  private held: HeldBatches | null = null;
  /** The group being written while the processor fetches the next blocks. */
  private writing: Promise<void> | null = null;
  private observeCache: { settings: ObserveSettings; at: number } | null = null;

  constructor(options: EvmLedgerDatabaseOptions) {
    this.options = options;
    this.settings = options.settings;
    this.mode = options.mode ?? 'follow';
  }

  async connect(): Promise<HotDatabaseState> {
    if (this.mode === 'rescan') return { height: -1, hash: '0x', top: [] };
    const { pool, settings } = this.options;
    await ensureCursor(pool, settings);
    const { rows } = await pool.query<CursorRow>('SELECT height, hash, stopped_reason FROM indexer_cursors WHERE indexer = $1', [settings.indexer]);
    const cursor = rows[0]!;
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
    const top = await pool.query<{ height: bigint; hash: string }>(
      'SELECT height, hash FROM indexer_hot_blocks WHERE indexer = $1 ORDER BY height',
      [settings.indexer],
    );
    return { height, hash: cursor.hash, top: top.rows.map((row) => ({ height: Number(row.height), hash: row.hash })) };
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
      const cursor = await this.lockCursor(tx.client);
      if (Number(cursor.height) !== held.prevHead.height || cursor.hash !== held.prevHead.hash) {
        throw new Error(`the ${this.settings.indexer} cursor moved under this process (is a second indexer running?)`);
      }
      // Blocks held as unfinalized before a restart come back here: those delivered with the
      // same hash replay idempotently, the others are checked as orphans.
      await this.settle(tx, observation, { afterHeight: held.prevHead.height, throughHeight: held.nextHead.height }, held.nextHead.height);
      await tx.client.query('DELETE FROM indexer_hot_blocks WHERE indexer = $1', [this.settings.indexer]);
      await this.moveCursor(tx.client, held.nextHead, held.nextHead.height);
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
        const cursor = await this.lockCursor(tx.client);
        const { rows } = await tx.client.query<{ height: bigint; hash: string }>(
          'SELECT height, hash FROM indexer_hot_blocks WHERE indexer = $1 ORDER BY height',
          [this.settings.indexer],
        );
        const chain = [{ height: Number(cursor.height), hash: cursor.hash }, ...rows.map((row) => ({ height: Number(row.height), hash: row.hash }))];
        const base = chain.find((block) => block.height === info.baseHead.height && block.hash === info.baseHead.hash);
        if (!base) {
          throw new DeepReorgError(deepReorgMessage(this.settings, info.baseHead.height, chain.find((b) => b.height === info.baseHead.height)?.hash ?? '(not held)', info.baseHead.hash));
        }
        const collector = new BatchCollector(await this.observeSettings(tx.client));
        await cb(collector, 0, info.newBlocks.length);
        const finalized = info.finalizedHead.height > chain[0]!.height ? info.finalizedHead : chain[0]!;
        await this.settle(tx, collector.merged(), { afterHeight: base.height, throughHeight: null }, finalized.height);
        await tx.client.query('DELETE FROM indexer_hot_blocks WHERE indexer = $1 AND (height > $2 OR height <= $3)', [
          this.settings.indexer,
          base.height,
          finalized.height,
        ]);
        const hot = info.newBlocks.filter((block) => block.height > finalized.height);
        if (hot.length > 0) {
          await tx.client.query('INSERT INTO indexer_hot_blocks (indexer, height, hash) SELECT $1, * FROM unnest($2::bigint[], $3::text[])', [
            this.settings.indexer,
            hot.map((block) => block.height),
            hot.map((block) => block.hash),
          ]);
        }
        const processed = info.newBlocks.at(-1)?.height ?? base.height;
        await this.moveCursor(tx.client, finalized, Math.max(processed, finalized.height));
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
    const { rows } = await client.query<{ code: string; contract: string }>(
      'SELECT code, lower(contract) AS contract FROM assets WHERE chain = $1 AND contract IS NOT NULL',
      [this.settings.chain],
    );
    return {
      nativeAsset: this.settings.nativeAsset,
      tokens: new Map(rows.map((row) => [row.contract, row.code])),
      eventContracts: new Set(this.settings.eventContracts.map((address) => address.toLowerCase())),
    };
  }

  private async lockCursor(client: PoolClient): Promise<CursorRow> {
    const { rows } = await client.query<CursorRow>('SELECT height, hash, stopped_reason FROM indexer_cursors WHERE indexer = $1 FOR UPDATE', [
      this.settings.indexer,
    ]);
    const cursor = rows[0];
    if (!cursor) throw new Error(`indexer ${this.settings.indexer} has no cursor; connect() creates it`);
    if (cursor.stopped_reason) throw new IndexerStoppedError(cursor.stopped_reason);
    return cursor;
  }

  private async moveCursor(client: PoolClient, finalized: HashAndHeight, processedHeight: number): Promise<void> {
    await client.query(
      `UPDATE indexer_cursors SET height = $2, hash = $3, processed_height = $4,
              chain_head = greatest(chain_head, $4), updated_at = now()
        WHERE indexer = $1`,
      [this.settings.indexer, finalized.height, finalized.hash, processedHeight],
    );
  }

  /**
   * Turns observed blocks into ledger entries, in one append: reversals for deposits on
   * orphaned blocks, pending entries for new deposits, and confirmations for every deposit at or
   * below `finalizedHeight` (old open ones and new ones alike). The open set is small (deposits
   * younger than the finality depth), so it is read whole and classified here.
   */
  private async settle(tx: LedgerTransaction, observation: Observation, orphans: OrphanScope | null, finalizedHeight: number): Promise<void> {
    const { indexer, chain } = this.settings;
    const client = tx.client;
    const delivered = new Map(observation.blocks.map((block) => [block.height, block.hash]));
    // In a hot update every block above the base is replaced, delivered or not; a finalized
    // batch speaks only for the heights it delivered.
    const isOrphaned = (height: number, hash: string) => {
      if (!orphans || height <= orphans.afterHeight || (orphans.throughHeight !== null && height > orphans.throughHeight)) return false;
      const now = delivered.get(height);
      return orphans.throughHeight === null ? now !== hash : now !== undefined && now !== hash;
    };

    const { rows: open } = await client.query<OpenDeposit>(
      `SELECT entry_id, block_height, block_hash, key_base, pending_account, custody_account, asset, amount::text
         FROM indexer_open_deposits WHERE indexer = $1 ORDER BY entry_id`,
      [indexer],
    );
    const orphaned = open.filter((row) => isOrphaned(Number(row.block_height), row.block_hash));
    const due = open.filter((row) => !orphaned.includes(row) && Number(row.block_height) <= finalizedHeight);
    if (orphans) await this.orphanEvents(client, orphans, isOrphaned);

    const recipients = [...new Set(observation.transfers.map((t) => t.to))];
    // Users' deposit addresses, and agent wallets (money sent to them funds their spends).
    const watched = new Map<string, { userId: string | null; walletId: string | null; address: string }>();
    if (recipients.length > 0) {
      const { rows } = await client.query<{ user_id: string | null; wallet_id: string | null; address: string }>(
        `SELECT user_id, NULL AS wallet_id, address FROM deposit_addresses WHERE chain = $1 AND lower(address) = ANY($2::text[])
         UNION ALL
         SELECT NULL, id, address FROM wallets WHERE chain = $1 AND lower(address) = ANY($2::text[])`,
        [chain, recipients],
      );
      for (const row of rows) watched.set(row.address.toLowerCase(), { userId: row.user_id, walletId: row.wallet_id, address: row.address });
    }
    const candidates = observation.transfers
      .filter((t) => watched.has(t.to))
      .map((transfer) => {
        const owner = watched.get(transfer.to)!;
        const keyBase = depositKeyBase(chain, transfer);
        const accounts = depositAccounts(chain, owner.address, owner.walletId);
        return { transfer, owner, keyBase, key: `${keyBase}:deposit@${transfer.block.hash}`, pendingAccount: accounts.pending, custodyAccount: accounts.custody };
      });
    // A deposit already in the ledger (a block read again after a restart, a rescan) is either
    // still open — settled through the open set — or settled already: either way, not new.
    const known = new Set<string>();
    if (candidates.length > 0) {
      const { rows } = await client.query<{ idempotency_key: string }>('SELECT idempotency_key FROM journal_entries WHERE idempotency_key = ANY($1::text[])', [
        candidates.map((c) => c.key),
      ]);
      for (const row of rows) known.add(row.idempotency_key);
    }
    const fresh = candidates.filter((c) => !known.has(c.key));

    const requests: AppendRequest[] = [];
    for (const row of orphaned) {
      requests.push(
        depositReversal({
          chain,
          keyBase: row.key_base,
          blockHash: row.block_hash,
          depositEntryId: row.entry_id,
          pendingAccount: row.pending_account,
          asset: row.asset,
          amount: BigInt(row.amount),
          metadata: { indexer, reason: 'reorg', blockHeight: Number(row.block_height), blockHash: row.block_hash },
        }),
      );
    }
    const confirmation = (keyBase: string, blockHash: string, depositKey: string, blockHeight: number, from: string, to: string, asset: string, amount: bigint): AppendRequest => ({
      kind: depositEntryKinds.confirmed,
      idempotencyKey: `${keyBase}:confirm@${blockHash}`,
      sourceRef: keyBase,
      metadata: { indexer, depositKey, blockHeight, finalityDepth: this.settings.finalityDepth },
      postings: [{ source: from, destination: to, asset, amount }],
    });
    for (const row of due) {
      requests.push(confirmation(row.key_base, row.block_hash, `${row.key_base}:deposit@${row.block_hash}`, Number(row.block_height), row.pending_account, row.custody_account, row.asset, BigInt(row.amount)));
    }
    const pendingIndex = new Map<string, number>();
    for (const c of fresh) {
      const { transfer, owner } = c;
      pendingIndex.set(c.key, requests.length);
      requests.push({
        kind: depositEntryKinds.pending,
        idempotencyKey: c.key,
        effectiveAt: transfer.block.timestamp,
        sourceRef: transfer.txHash,
        metadata: {
          indexer,
          chain,
          ...(owner.walletId ? { walletId: owner.walletId } : { userId: owner.userId }),
          address: owner.address,
          txHash: transfer.txHash,
          logIndex: transfer.logIndex,
          blockHeight: transfer.block.height,
          blockHash: transfer.block.hash,
          contract: transfer.contract,
        },
        postings: [{ source: `world:${chain}`, destination: c.pendingAccount, asset: transfer.asset, amount: transfer.amount }],
      });
      if (transfer.block.height <= finalizedHeight) {
        requests.push(confirmation(c.keyBase, transfer.block.hash, c.key, transfer.block.height, c.pendingAccount, c.custodyAccount, transfer.asset, transfer.amount));
      }
    }

    const results = await tx.append(requests);
    results.forEach((result, i) => {
      const request = requests[i]!;
      const alreadyReversed = request.reverses !== undefined && result.status === 'rejected' && result.rejection.code === 'already_reversed';
      if (!isWritten(result) && !alreadyReversed) throw unexpected(request.kind, request, result);
    });

    // Every confirmation of a user's deposit asks for its credit in this same transaction (the
    // outbox); money sent to an agent wallet is not credited, it is the wallet's to spend.
    await enqueue(
      client,
      results.flatMap((result, i) =>
        requests[i]!.kind === depositEntryKinds.confirmed && isWritten(result) && requests[i]!.postings[0]!.destination.startsWith('custody:')
          ? [{ queue: 'credits' as const, name: 'credit-deposit', dedupeKey: `credit:${result.entry.id}`, payload: { confirmationEntryId: result.entry.id.toString() } }]
          : [],
      ),
    );

    const settled = [...orphaned, ...due].map((row) => row.entry_id.toString());
    if (settled.length > 0) await client.query('DELETE FROM indexer_open_deposits WHERE entry_id = ANY($1::bigint[])', [settled]);
    const stillOpen = fresh.filter((c) => c.transfer.block.height > finalizedHeight);
    if (stillOpen.length > 0) {
      await client.query(
        `INSERT INTO indexer_open_deposits (entry_id, indexer, block_height, block_hash, key_base, pending_account, custody_account, asset, amount)
         SELECT e, $1, h, bh, k, p, c, a, amt FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::numeric[])
           AS t(e, h, bh, k, p, c, a, amt)`,
        [
          indexer,
          stillOpen.map((c) => {
            const result = results[pendingIndex.get(c.key)!]!;
            return (result as { entry: { id: bigint } }).entry.id.toString();
          }),
          stillOpen.map((c) => c.transfer.block.height),
          stillOpen.map((c) => c.transfer.block.hash),
          stillOpen.map((c) => c.keyBase),
          stillOpen.map((c) => c.pendingAccount),
          stillOpen.map((c) => c.custodyAccount),
          stillOpen.map((c) => c.transfer.asset),
          stillOpen.map((c) => c.transfer.amount.toString()),
        ],
      );
    }

    if (observation.events.length > 0) {
      const events = observation.events;
      await client.query(
        `INSERT INTO evm_contract_events (indexer, block_height, block_hash, tx_hash, log_index, contract, event, args, block_time)
         SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::jsonb[], $9::timestamptz[])
         ON CONFLICT DO NOTHING`,
        [
          indexer,
          events.map((e) => e.block.height),
          events.map((e) => e.block.hash),
          events.map((e) => e.txHash),
          events.map((e) => e.logIndex),
          events.map((e) => e.contract),
          events.map((e) => e.event),
          events.map((e) => JSON.stringify(e.args)),
          events.map((e) => e.block.timestamp),
        ],
      );
    }

    this.options.onBatch?.({
      blocks: observation.blocks.length,
      fromHeight: observation.blocks[0]?.height ?? finalizedHeight,
      toHeight: observation.blocks.at(-1)?.height ?? finalizedHeight,
      deposits: fresh.length,
      confirmed: results.filter((r, i) => r.status === 'created' && requests[i]!.kind === depositEntryKinds.confirmed).length,
      reversed: results.filter((r, i) => r.status === 'created' && requests[i]!.kind === depositEntryKinds.reversal).length,
      finalizedHeight,
    });
  }

  /** Contract events from orphaned blocks are kept and marked. */
  private async orphanEvents(client: PoolClient, scope: OrphanScope, isOrphaned: (height: number, hash: string) => boolean): Promise<void> {
    const { rows } = await client.query<{ block_height: bigint; block_hash: string }>(
      `SELECT DISTINCT block_height, block_hash FROM evm_contract_events
        WHERE indexer = $1 AND NOT orphaned AND block_height > $2 AND ($3::bigint IS NULL OR block_height <= $3)`,
      [this.settings.indexer, scope.afterHeight, scope.throughHeight],
    );
    const gone = rows.filter((row) => isOrphaned(Number(row.block_height), row.block_hash)).map((row) => row.block_hash);
    if (gone.length > 0) {
      await client.query('UPDATE evm_contract_events SET orphaned = true WHERE indexer = $1 AND block_hash = ANY($2::text[])', [this.settings.indexer, gone]);
    }
  }
}

function isWritten(result: AppendResult): result is Extract<AppendResult, { status: 'created' | 'replayed' }> {
  return result.status === 'created' || result.status === 'replayed';
}

function unexpected(what: string, request: AppendRequest, result: AppendResult): Error {
  const detail = result.status === 'rejected' ? `${result.rejection.code}: ${result.rejection.message}` : result.status;
  return new Error(`the ledger refused the ${what} ${request.idempotencyKey} (${detail}); the batch is rolled back and will be retried`);
}

export async function ensureCursor(db: Pool | PoolClient, settings: IndexerSettings): Promise<void> {
  const height = settings.startBlock - 1;
  await db.query(
    `INSERT INTO indexer_cursors (indexer, chain, height, hash, processed_height, finality_depth)
     VALUES ($1, $2, $3, '0x', $3, $4)
     ON CONFLICT (indexer) DO UPDATE SET finality_depth = excluded.finality_depth`,
    [settings.indexer, settings.chain, height, settings.finalityDepth],
  );
}

async function recordStop(pool: Pool, indexer: string, reason: string): Promise<void> {
  await pool.query('UPDATE indexer_cursors SET stopped_reason = $2, updated_at = now() WHERE indexer = $1', [indexer, reason]);
}

export async function blockHash(rpc: JsonRpc, height: number): Promise<string | null> {
  const block = await rpc<{ hash: string } | null>('eth_getBlockByNumber', [`0x${height.toString(16)}`, false]);
  return block?.hash ?? null;
}

function deepReorgMessage(settings: IndexerSettings, height: number, held: string, onChain: string | null): string {
  const suggestion = Math.max(0, height - 4 * Math.max(settings.finalityDepth, 16));
  return (
    `reorg deeper than the finality depth (${settings.finalityDepth} blocks): block ${height} was final as ${held}, ` +
    `but the chain now has ${onChain ?? 'no block there'}. Deposits confirmed from the old chain may be gone. ` +
    `The ${settings.indexer} indexer stops until an operator rewinds it: coffer indexer rewind --chain ${settings.indexer} --to <a block both chains share, e.g. ${suggestion}> ` +
    `(rewinding further back is safe: deposits in blocks still on the chain are kept).`
  );
}
