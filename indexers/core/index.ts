// The chain-neutral deposit core every chain's indexer feeds (ADR 0008): observations in,
// ledger entries, cursor moves and credit requests out.
export type { BlockRef, ObservedTransfer, DepositObservation, OrphanScope, DepositCoreSettings, SettleStats } from './types.ts';
export { settleDeposits, orphanTest } from './deposits.ts';
export { depositAccounts, depositKeyBase, depositReversal } from './accounts.ts';
export {
  ensureCursor,
  readCursor,
  lockCursor,
  moveCursor,
  recordStop,
  hotBlocks,
  keepHotBlocks,
  clearHotBlocks,
  recordChainHead,
  deepReorgMessage,
  IndexerStoppedError,
  DeepReorgError,
  type CursorSettings,
  type CursorRow,
} from './cursor.ts';
export { rewindIndexer, RewindError, type RewindReport, type RewindOptions } from './rewind.ts';
export { ChainFollower, type BlockSource, type SourceBlock, type FollowSettings, type FollowBatch } from './follow.ts';
