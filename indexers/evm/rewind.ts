// Rewinding the EVM indexer: the deposit core's rewind, reading block hashes over JSON-RPC, and
// marking the contract events recorded from blocks the chain no longer has.
import type { Pool } from '../../infra/index.ts';
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
      const { rows } = await client.query<{ block_height: bigint }>(
        'SELECT DISTINCT block_height FROM evm_contract_events WHERE indexer = $1 AND block_height > $2 AND NOT orphaned',
        [settings.indexer, to],
      );
      const events = await client.query(
        `UPDATE evm_contract_events SET orphaned = true WHERE indexer = $1 AND block_height > $2 AND NOT orphaned
            AND block_hash <> ALL($3::text[])`,
        [settings.indexer, to, await canonicalHashesAbove(rows.map((row) => Number(row.block_height)))],
      );
      return events.rowCount ?? 0;
    },
  });
}
