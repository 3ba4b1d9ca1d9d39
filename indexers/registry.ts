// Every indexer coffer can run, by name. `coffer start` runs one supervised process per indexer
// whose chain is configured, and `coffer indexer run|rescan|rewind --chain <name>` finds it
// here. Adding a chain's indexer is a folder (`indexers/<chain>/`) and one entry below.
import type { Config, Logger, Pool } from '../infra/index.ts';
import type { LedgerWriter } from '../ledger/index.ts';
import type { RewindReport } from './core/index.ts';
import { rewindBitcoinIndexer, runBitcoinIndexer } from './bitcoin/run.ts';
import { rewindEvmIndexer } from './evm/rewind.ts';
import { evmSettings, requireRpcUrl, runEvmIndexer, runEvmRescan } from './evm/run.ts';
import { jsonRpc } from './evm/rpc.ts';
import { rewindSolanaIndexer, runSolanaIndexer } from './solana/run.ts';
import { rewindNearIndexer, runNearIndexer } from './near/run.ts';

export interface IndexerDefinition {
  /** Its cursor row and `--chain` value: `evm`. */
  name: string;
  /** The chain deposit addresses and account paths name: `ethereum`. */
  chain: string;
  /** The variable it cannot run without; unset, `coffer start` leaves it off and says so. */
  needs: keyof Config;
  /** Follows the chain; the process is the indexer's from here and ends when it stops. */
  run(config: Config, logger: Logger): Promise<void>;
  /** Re-reads final blocks from `from` for deposits to addresses registered after they were paid. */
  rescan?(config: Config, logger: Logger, from: number): Promise<void>;
  rewind(options: { config: Config; pool: Pool; writer: LedgerWriter; to: number }): Promise<RewindReport>;
}

export const indexerRegistry: readonly IndexerDefinition[] = [
  {
    name: 'evm',
    chain: 'ethereum',
    needs: 'EVM_RPC_URL',
    run: runEvmIndexer,
    rescan: runEvmRescan,
    rewind: ({ config, pool, writer, to }) => rewindEvmIndexer({ pool, writer, rpc: jsonRpc(requireRpcUrl(config)), settings: evmSettings(config), to }),
  },
  { name: 'solana', chain: 'solana', needs: 'SOLANA_RPC_URL', run: runSolanaIndexer, rewind: rewindSolanaIndexer },
  { name: 'near', chain: 'near', needs: 'NEAR_RPC_URL', run: runNearIndexer, rewind: rewindNearIndexer },
  { name: 'bitcoin', chain: 'bitcoin', needs: 'BITCOIN_RPC_URL', run: runBitcoinIndexer, rewind: rewindBitcoinIndexer },
];

/** Indexers `coffer start --indexers` and `coffer indexer --chain` accept. */
export const indexerNames = indexerRegistry.map((indexer) => indexer.name);

/** By indexer name or by chain name (`evm` and `ethereum` are the same indexer). */
export function findIndexer(name: string): IndexerDefinition | undefined {
  return indexerRegistry.find((indexer) => indexer.name === name || indexer.chain === name);
}
