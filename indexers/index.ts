// The indexers' front door. Each chain's indexer turns what happens on chain into ledger
// entries; today the EVM one (Subsquid's processor over JSON-RPC with our store).
export { evmIndexer, evmSettings, runEvmIndexer, runEvmRescan, requireRpcUrl, redactUrl } from './evm/run.ts';
export { rewindEvmIndexer } from './evm/rewind.ts';
export { rewindIndexer, RewindError, type RewindReport } from './core/index.ts';
export { EvmLedgerDatabase, IndexerStoppedError, DeepReorgError, ensureCursor, type IndexerSettings, type BatchStats } from './evm/store.ts';
export { buildProcessor, NoopDatabase } from './evm/processor.ts';
export { jsonRpc, chainHead, type JsonRpc } from './evm/rpc.ts';
export { listIndexerStatus, type IndexerStatus } from './status.ts';
export { superviseIndexer, type SupervisedIndexer } from './supervise.ts';

/** Indexers `coffer start --indexers` and `coffer indexer --chain` accept. */
export const indexerNames = ['evm'] as const;
