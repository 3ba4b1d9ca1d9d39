// The sweeps room's front door: moving deposits to the treasury on any chain (one deposit per
// transaction, or a UTXO chain's consolidation of many), NEAR's signing funds and token storage,
// and what became of each deposit. jobs/ runs them as workers.
export { sweepDeposit, SweepError, type SweepContext, type SweepChain, type SweepOutcome } from './sweeps.ts';
export { consolidate, consolidationChains, sweepOrConsolidate, requestConsolidation, type ConsolidationChain, type ConsolidationContext } from './consolidation.ts';
export { depositProgress, failedSweepConditions, listSweeps, sweepListLimitMax, type DepositCredit, type SweepView, type SweepStatus, type CreditStatus } from './progress.ts';
export {
  nearRefillPass,
  ensureNearSigningTarget,
  bookNearSignCost,
  nearSignCostBooks,
  registerNearTokenStorage,
  nearSigningAccount,
  nearStorageAccount,
  nearSigningTargetName,
  nearTokenContracts,
  nearSigningFunding,
  type NearSigningFunding,
  type NearOperationsContext,
  type NearRefillOutcome,
} from './near-operations.ts';
export { recordNearHotFunding, NearFundingError } from './near-funding.ts';
