// An indexer's place on its chain: the last final block it wrote (height, hash), how far it has
// read, and why it stopped, if it did. Moved only inside the ledger transaction that writes the
// entries of the blocks it covers, so a crash leaves the cursor and the ledger in step.
import type { Pool, PoolClient, Queryable } from '../../infra/index.ts';

export interface CursorSettings {
  indexer: string;
  chain: string;
  finalityDepth: number;
  /** The first block to read on a fresh database. */
  startBlock: number;
}

export interface CursorRow {
  height: bigint;
  hash: string;
  stopped_reason: string | null;
}

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
  await db.query(
    `INSERT INTO indexer_cursors (indexer, chain, height, hash, processed_height, finality_depth)
     VALUES ($1, $2, $3, '0x', $3, $4)
     ON CONFLICT (indexer) DO UPDATE SET finality_depth = excluded.finality_depth`,
    [settings.indexer, settings.chain, height, settings.finalityDepth],
  );
}

export async function readCursor(db: Queryable, indexer: string): Promise<CursorRow | undefined> {
  const { rows } = await db.query<CursorRow>('SELECT height, hash, stopped_reason FROM indexer_cursors WHERE indexer = $1', [indexer]);
  return rows[0];
}

/** Locks the cursor row for the writing transaction; a stopped indexer writes nothing. */
export async function lockCursor(client: PoolClient, indexer: string): Promise<CursorRow> {
  const { rows } = await client.query<CursorRow>('SELECT height, hash, stopped_reason FROM indexer_cursors WHERE indexer = $1 FOR UPDATE', [indexer]);
  const cursor = rows[0];
  if (!cursor) throw new Error(`indexer ${indexer} has no cursor; it is created when the indexer connects`);
  if (cursor.stopped_reason) throw new IndexerStoppedError(cursor.stopped_reason);
  return cursor;
}

export async function moveCursor(client: PoolClient, indexer: string, finalized: { height: number; hash: string }, processedHeight: number): Promise<void> {
  await client.query(
    `UPDATE indexer_cursors SET height = $2, hash = $3, processed_height = $4,
            chain_head = greatest(chain_head, $4), updated_at = now()
      WHERE indexer = $1`,
    [indexer, finalized.height, finalized.hash, processedHeight],
  );
}

export async function recordStop(pool: Pool, indexer: string, reason: string): Promise<void> {
  await pool.query('UPDATE indexer_cursors SET stopped_reason = $2, updated_at = now() WHERE indexer = $1', [indexer, reason]);
}

/** Blocks read above the final one, oldest first: what a reorg may still replace. */
export async function hotBlocks(db: Queryable, indexer: string): Promise<{ height: number; hash: string }[]> {
  const { rows } = await db.query<{ height: bigint; hash: string }>('SELECT height, hash FROM indexer_hot_blocks WHERE indexer = $1 ORDER BY height', [indexer]);
  return rows.map((row) => ({ height: Number(row.height), hash: row.hash }));
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
