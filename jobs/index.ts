// The job system's front door (issue #5): the transactional outbox, BullMQ queues and workers,
// pricing, CHOCO credits, sweeps, and the relayer (jobs/relay).
export { enqueue, markDone, outboxCounts, type OutboxJob, type OutboxCounts } from '../infra/index.ts';
export { queueNames, openQueues, closeQueues, jobOptions, type QueueName, type QueueSettings } from './queues.ts';
export { OutboxDispatcher, type DispatcherOptions } from './dispatcher.ts';
export { startWorkers, redisConnection, type RunningWorkers, type WorkerOptions } from './workers.ts';
export { PriceSource, PriceRefusedError, priceProblem, pythFeeds, type PriceLimits, type PriceObservation } from './prices.ts';
export {
  parseAssetPricing,
  parseChainMinimums,
  parseDecimal,
  parseNativeMinimums,
  valueDeposit,
  reachesMinimum,
  formatUsdMicros,
  chocoScale,
  ValuationConfigError,
  type AssetPricing,
  type Fraction,
  type Valuation,
} from './valuation.ts';
export { creditDeposit, reverseCredit, type CreditContext, type CreditSettings, type CreditOutcome } from './credits.ts';
export { sweepDeposit, SweepError, type SweepContext, type SweepChain, type SweepOutcome } from './sweeps.ts';
export { startJobSystem, creditSettings, sweepChains, openConfiguredQueues, bullPrefix, type JobSystem } from './system.ts';
// The relayer (issue #7): Defender-compatible relayers, gasless forward requests, refills.
export * from './relay/index.ts';
export { depositProgress, listSweeps, sweepListLimitMax, type DepositCredit, type SweepView, type SweepStatus, type CreditStatus } from './progress.ts';
export { nearRefillPass, ensureNearSigningTarget, bookNearSignCost, nearSignCostBooks, registerNearTokenStorage, nearSigningAccount, nearStorageAccount, nearSigningTargetName, type NearOperationsContext, type NearRefillOutcome } from './near-operations.ts';
