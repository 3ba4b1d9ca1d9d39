// Where each indexer stands, for /metrics, /v1/admin/indexers and `coffer indexer status`.
import { run, sqlBuilder, type AlertCondition, type Queryable } from '../infra/index.ts';

export interface IndexerStatus {
  indexer: string;
  chain: string;
  finalizedHeight: number;
  processedHeight: number;
  chainHead: number | null;
  /** chainHead − processedHeight: blocks the indexer has yet to read. */
  lag: number | null;
  finalityDepth: number;
  openDeposits: number;
  stoppedReason: string | null;
  chainHeadAt: Date | null;
  updatedAt: Date;
}

export async function listIndexerStatus(db: Queryable): Promise<IndexerStatus[]> {
  const { rows } = await db.query<{
    indexer: string;
    chain: string;
    height: bigint;
    processed_height: bigint;
    chain_head: bigint | null;
    finality_depth: number;
    open_deposits: bigint;
    stopped_reason: string | null;
    chain_head_at: Date | null;
    updated_at: Date;
  }>(
    `SELECT c.indexer, c.chain, c.height, c.processed_height, c.chain_head, c.finality_depth, c.stopped_reason, c.chain_head_at, c.updated_at,
            (SELECT count(*) FROM indexer_open_deposits o WHERE o.indexer = c.indexer) AS open_deposits
       FROM indexer_cursors c ORDER BY c.indexer`,
  );
  return rows.map((row) => ({
    indexer: row.indexer,
    chain: row.chain,
    finalizedHeight: Number(row.height),
    processedHeight: Number(row.processed_height),
    chainHead: row.chain_head === null ? null : Number(row.chain_head),
    lag: row.chain_head === null ? null : Math.max(0, Number(row.chain_head) - Number(row.processed_height)),
    finalityDepth: row.finality_depth,
    openDeposits: Number(row.open_deposits),
    stoppedReason: row.stopped_reason,
    chainHeadAt: row.chain_head_at,
    updatedAt: row.updated_at,
  }));
}

/** Indexers stopped for an operator (a deep reorg), as alert conditions. */
export async function stoppedIndexerConditions(db: Queryable): Promise<AlertCondition[]> {
  return (await listIndexerStatus(db)).filter((s) => s.stoppedReason !== null).map((s) => ({ subject: s.indexer, detail: { chain: s.chain, reason: s.stoppedReason, finalizedHeight: s.finalizedHeight } }));
}

export interface ChainHead {
  /** The newest block the chain's indexer saw; null before its first look. */
  chainHead: number | null;
  finalityDepth: number;
}

/** Each chain's head as its indexer saw it (the first indexer by name, where a chain has several), for counting confirmations. */
export async function chainHeads(db: Queryable): Promise<Map<string, ChainHead>> {
  const rows = await run(db, sqlBuilder.selectFrom('indexer_cursors').select(['chain', 'chain_head', 'finality_depth']).orderBy('indexer'));
  const heads = new Map<string, ChainHead>();
  for (const row of rows) {
    if (!heads.has(row.chain)) heads.set(row.chain, { chainHead: row.chain_head === null ? null : Number(row.chain_head), finalityDepth: row.finality_depth });
  }
  return heads;
}
