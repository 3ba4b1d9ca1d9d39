// Rewinding the EVM indexer: the deposit core's rewind, reading block hashes over JSON-RPC, and
// marking the contract events recorded from blocks the chain no longer has.
import { run, runCount, sql, sqlBuilder, type Pool } from '../../infra/index.ts';
import type { LedgerWriter } from '../../ledger/index.ts';
import { rewindIndexer, type RewindReport } from '../core/index.ts';
import type { JsonRpc } from './rpc.ts';
import { blockHash, type IndexerSettings } from './store.ts';

export async function rewindEvmIndexer(options: { pool: Pool; writer: LedgerWriter; rpc: JsonRpc; settings: IndexerSettings; to: number }): Promise<RewindReport> {
  const { pool, rpc, settings, to } = options;
  return rewindIndexer({
    pool,
    writer: options.writer,
    settings,
    to,
    blockHashAt: (height) => blockHash(rpc, height),
    async orphanRecords(client, canonicalHashesAbove) {
      const held = sqlBuilder.selectFrom('evm_contract_events').where('indexer', '=', settings.indexer).where('block_height', '>', BigInt(to)).where('orphaned', '=', false);
      const heights = await run(client, held.select('block_height').distinct());
      const canonical = await canonicalHashesAbove(heights.map((row) => Number(row.block_height)));
      return runCount(
        client,
        sqlBuilder
          .updateTable('evm_contract_events')
          .set({ orphaned: true })
          .where('indexer', '=', settings.indexer)
          .where('block_height', '>', BigInt(to))
          .where('orphaned', '=', false)
          .where('block_hash', '<>', sql<string>`all(${canonical}::text[])`),
      );
    },
  });
}
