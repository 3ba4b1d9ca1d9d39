// The indexers' front door. Each chain's indexer reads its chain and feeds the chain-neutral
// deposit core (core/), which turns what it saw into ledger entries; `registry.ts` lists them.
export { evmIndexer, evmSettings, runEvmIndexer, runEvmRescan, requireRpcUrl, redactUrl } from './evm/run.ts';
export { rewindEvmIndexer } from './evm/rewind.ts';
export { reconcilePaymasterDeposits, type DepositReconciliation } from './evm/sponsored.ts';
export { rewindIndexer, RewindError, type RewindReport } from './core/index.ts';
export { EvmLedgerDatabase, IndexerStoppedError, DeepReorgError, ensureCursor, type IndexerSettings, type BatchStats } from './evm/store.ts';
export { buildProcessor, NoopDatabase } from './evm/processor.ts';
export { jsonRpc, chainHead, type JsonRpc } from './evm/rpc.ts';
export { listIndexerStatus, stoppedIndexerConditions, chainHeads, type IndexerStatus, type ChainHead } from './status.ts';
export { superviseIndexer, type SupervisedIndexer } from './supervise.ts';
export { indexerRegistry, indexerNames, findIndexer, type IndexerDefinition } from './registry.ts';
export { ChainFollower, settleDeposits, type BlockSource, type SourceBlock, type FollowSettings, type FollowBatch, type ObservedTransfer, type BlockRef } from './core/index.ts';
export { nearRpc, type NearRpc } from './near/rpc.ts';
export { nearSettings, registerNearTokens, watchedNearAccounts } from './near/run.ts';
export { NearBlockSource } from './near/source.ts';
export { solanaRpc, solanaTokens, solanaFollowSettings, registerSolanaTokens, SolanaBlockSource, recordSolanaFeePayerFunding, SolanaFundingError, SolanaRpcError, type SolanaRpc } from './solana/index.ts';
// The NEAR indexer's own RPC error; chains/ has a NearRpcError of its own for the adapter's calls.
export { NearRpcError as NearIndexerRpcError } from './near/rpc.ts';
