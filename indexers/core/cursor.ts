// An indexer's place on its chain: the last final block it wrote (height, hash), how far it has
// read, and why it stopped, if it did. Moved only inside the ledger transaction that writes the
// entries of the blocks it covers, so a crash leaves the cursor and the ledger in step.
import { run, runFirst, sql, sqlBuilder, type Pool, type PoolClient, type Queryable } from '../../infra/index.ts';

export interface CursorSettings {
  indexer: string;
  chain: string;
  finalityDepth: number;
  /** The first block to read on a fresh database. */
  startBlock: number;
}

const cursorColumns = ['height', 'hash', 'stopped_reason'] as const;
export type CursorRow = NonNullable<Awaited<ReturnType<typeof readCursor>>>;

export class IndexerStoppedError extends Error {
  static readonly codes = ['indexer_stopped', 'deep_reorg'] as const;
  override name = 'IndexerStoppedError';
  readonly code: (typeof IndexerStoppedError.codes)[number] = 'indexer_stopped';
}

/** Thrown when the chain no longer holds a block the indexer already treated as final. */
export class DeepReorgError extends IndexerStoppedError {
  override name = 'DeepReorgError';
  override readonly code = 'deep_reorg';
}

export async function ensureCursor(db: Queryable, settings: CursorSettings): Promise<void> {
  const height = settings.startBlock - 1;
  await run(
    db,
    sqlBuilder
      .insertInto('indexer_cursors')
      .values({ indexer: settings.indexer, chain: settings.chain, height: BigInt(height), hash: '0x', processed_height: BigInt(height), finality_depth: settings.finalityDepth })
      .onConflict((conflict) => conflict.column('indexer').doUpdateSet((eb) => ({ finality_depth: eb.ref('excluded.finality_depth') }))),
  );
}

export async function readCursor(db: Queryable, indexer: string) {
  return runFirst(db, sqlBuilder.selectFrom('indexer_cursors').select(cursorColumns).where('indexer', '=', indexer));
}

/** Locks the cursor row for the writing transaction; a stopped indexer writes nothing. */
export async function lockCursor(client: PoolClient, indexer: string): Promise<CursorRow> {
  const cursor = await runFirst(client, sqlBuilder.selectFrom('indexer_cursors').select(cursorColumns).where('indexer', '=', indexer).forUpdate());
  if (!cursor) throw new Error(`indexer ${indexer} has no cursor; it is created when the indexer connects`);
  if (cursor.stopped_reason) throw new IndexerStoppedError(cursor.stopped_reason);
  return cursor;
}

export async function moveCursor(client: PoolClient, indexer: string, finalized: { height: number; hash: string }, processedHeight: number): Promise<void> {
  await run(
    client,
    sqlBuilder
      .updateTable('indexer_cursors')
      .set({
        height: BigInt(finalized.height),
        hash: finalized.hash,
        processed_height: BigInt(processedHeight),
        chain_head: sql<bigint>`greatest(chain_head, ${processedHeight}::bigint)`,
        updated_at: sql<Date>`now()`,
      })
      .where('indexer', '=', indexer),
  );
}

export async function recordStop(pool: Pool, indexer: string, reason: string): Promise<void> {
  await run(pool, sqlBuilder.updateTable('indexer_cursors').set({ stopped_reason: reason, updated_at: sql<Date>`now()` }).where('indexer', '=', indexer));
}

/** Blocks read above the final one, oldest first: what a reorg may still replace. */
export async function hotBlocks(db: Queryable, indexer: string): Promise<{ height: number; hash: string }[]> {
  const rows = await run(db, sqlBuilder.selectFrom('indexer_hot_blocks').select(['height', 'hash']).where('indexer', '=', indexer).orderBy('height'));
  return rows.map((row) => ({ height: Number(row.height), hash: row.hash }));
}

/** After a batch: forgets the hot blocks above `baseHeight` (replaced) or at or below `finalizedHeight` (final now), and holds `hot`. */
export async function keepHotBlocks(client: PoolClient, indexer: string, baseHeight: number, finalizedHeight: number, hot: readonly { height: number; hash: string }[]): Promise<void> {
  await run(
    client,
    sqlBuilder
      .deleteFrom('indexer_hot_blocks')
      .where('indexer', '=', indexer)
      .where((eb) => eb.or([eb('height', '>', BigInt(baseHeight)), eb('height', '<=', BigInt(finalizedHeight))])),
  );
  // At most a finality depth of blocks: one statement.
  if (hot.length > 0) await run(client, sqlBuilder.insertInto('indexer_hot_blocks').values(hot.map((block) => ({ indexer, height: BigInt(block.height), hash: block.hash }))));
}

/** Forgets every hot block (a rewind, a finalized batch that covered them all). */
export async function clearHotBlocks(client: PoolClient, indexer: string): Promise<void> {
  await run(client, sqlBuilder.deleteFrom('indexer_hot_blocks').where('indexer', '=', indexer));
}

/** The chain head as last seen, for lag on /metrics; `monotonic` never moves it back. */
export async function recordChainHead(db: Queryable, indexer: string, head: number, options: { monotonic: boolean }): Promise<void> {
  const chainHead = options.monotonic ? sql<bigint>`greatest(chain_head, ${head}::bigint)` : BigInt(head);
  await run(db, sqlBuilder.updateTable('indexer_cursors').set({ chain_head: chainHead, chain_head_at: sql<Date>`now()` }).where('indexer', '=', indexer));
}

export function deepReorgMessage(settings: Pick<CursorSettings, 'indexer' | 'finalityDepth'>, height: number, held: string, onChain: string | null): string {
  const suggestion = Math.max(0, height - 4 * Math.max(settings.finalityDepth, 16));
  return (
    `reorg deeper than the finality depth (${settings.finalityDepth} blocks): block ${height} was final as ${held}, ` +
    `but the chain now has ${onChain ?? 'no block there'}. Deposits confirmed from the old chain may be gone. ` +
    `The ${settings.indexer} indexer stops until an operator rewinds it: coffer indexer rewind --chain ${settings.indexer} --to <a block both chains share, e.g. ${suggestion}> ` +
    `(rewinding further back is safe: deposits in blocks still on the chain are kept).`
  );
}
