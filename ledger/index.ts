// The ledger's front door. Everything outside ledger/ imports from here.
export type { AppendRequest, AppendResult, JournalEntry, Posting, PostingInput, Rejection, RejectionCode, Json, JsonObject } from './types.ts';
export { LedgerWriter, type LedgerWriterOptions, type LedgerTransaction } from './writer.ts';
export { LedgerInputError, LedgerOverloadedError, LedgerClosedError, LedgerRefusedError } from './errors.ts';
export { assertAppended, refusalReason, type Appended } from './appended.ts';
export { parseAmount, formatUnits, amountMax } from './amounts.ts';
export { assertAccountPath, normalizeAccount, parseAccountSelector } from './accounts.ts';
export { chart } from './chart.ts';
export { depositDetails, type DepositDetails } from './deposit-entry.ts';
export {
  entryCatalogue,
  entryMetadata,
  depositEntryKinds,
  creditEntryKinds,
  sweepEntryKinds,
  spendEntryKinds,
  relayEntryKinds,
  sponsorEntryKinds,
  type EntryKind,
  type EntryMetadata,
} from './catalogue.ts';
export { getEntry, getEntryByIdempotencyKey, getEntriesByIdempotencyKeys, listEntries, journalHead, countEntries, knownIdempotencyKeys, isReversed, type EntryFilter } from './journal.ts';
export { getBalances, getTrialBalance, accountBalance, accountBalances, type AccountBalance, type AsOf, type TrialBalanceLine } from './balances.ts';
export { depositsAbove, userDeposits, confirmedDeposits, type ViewedDeposit, type ConfirmedDeposit, type DepositViewStatus } from './deposit-view.ts';
export { spendWindowUsage, type SpendWindow, type SpendWindowUsage } from './spend-window-usage.ts';
export { getStatement, type Statement, type StatementLine } from './statement.ts';
export { registerAsset, listAssets, getAsset, type Asset } from './assets.ts';
export { setFloorRule, listFloorRules, type FloorRule } from './floors.ts';
export { verifyLedger, type VerifyReport, type CheckResult } from './verify.ts';
export {
  projections,
  findProjection,
  depositsProjection,
  chocoBalancesProjection,
  spendWindowsProjection,
  replayProjection,
  projectionCheckpoints,
  catchUp,
  ProjectionFollower,
  type ProjectionDefinition,
  type ReplayReport,
} from './projections/index.ts';
export { canonicalJson, requestHash, sealEncodingVersion } from './canonical.ts';
