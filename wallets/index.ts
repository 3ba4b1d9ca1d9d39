// Agent wallets (issue #6): wallets and their keys, policies, spends from request to
// settlement, spend-window usage and webhooks. api/ and jobs/ call in through this door.
export {
  createWallet,
  getWallet,
  requireWallet,
  getWalletBalances,
  currentPolicy,
  setPolicy,
  freezeWallet,
  lockDownWallet,
  unfreezeWallet,
  setWebhookUrl,
  listWalletEvents,
  webhookSecret,
  walletAccounts,
  WalletError,
  type Wallet,
  type WalletBalance,
  type WalletEvent,
  type WalletKeySettings,
  type StoredPolicy,
} from './wallets.ts';
export { watchedWalletAddresses } from './watched.ts';
export { parsePolicy, evaluatePolicy, checkRule, refineRules, ruleSchemas, ruleCommon, windowQueries, policySchema, windowSchema, severities, rulesMax, type Policy, type PolicyInput, type PolicyRule, type Verdict, type Violation, type SpendFacts, type WalletUsage, type Severity, type WindowQuery } from './policy.ts';
export { windowStart, parseDurationSeconds, isTimeZone, localClock, type WindowSpec } from './windows.ts';
export {
  requestSpend,
  decideSpend,
  approveSpend,
  rejectSpend,
  expireApproval,
  rejectUndecidable,
  getSpend,
  listSpends,
  walletUsage,
  walletBudgets,
  type WindowBudget,
  spendStatuses,
  SpendSimulationError,
  type Spend,
  type SpendStatus,
  type SpendContext,
  type SpendEstimate,
  type SpendRequestBody,
  type GasEstimator,
  type DecisionOutcome,
} from './spends.ts';
export { executeSpend, type ExecuteContext, type ExecuteOutcome } from './execute.ts';
export { deliverSpendWebhook, signWebhook, webhookSecrets, type WebhookContext } from './webhooks.ts';
export {
  loadWebhookRoot,
  webhookRootFile,
  fixedWebhookRoot,
  webhookRootSource,
  rotateWebhookRoot,
  webhookRootFingerprint,
  type WebhookRoots,
  type WebhookRootSource,
} from './webhook-roots.ts';
export { spendView } from './views.ts';
export { listSpendsAwaitingApproval } from './spends.ts';
