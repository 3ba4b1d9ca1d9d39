// ERC-4337 sponsorship (issue #24): the ERC-7677 paymaster service that signs for coffer's
// verifying paymaster, its policy, and the record of every decision. api/ serves it; the EVM
// indexer settles included operations through this door.
export { sponsorService } from './services.ts';
export { handlePaymasterRpc, refusalErrorCode, type SponsorContext, type JsonRpcResponse, type Caller } from './service.ts';
export { parseSponsorPolicy, evaluateSponsorPolicy, usageQueries, sponsorPolicySchema, sponsorRulesMax, type SponsorPolicy, type SponsorPolicyInput, type SponsorRule, type SponsorVerdict } from './policy.ts';
export { setSponsorPolicy, currentSponsorPolicy, listDecisions, settleIncludedOperations, type StoredSponsorPolicy, type DecisionView, type IncludedOperation } from './decisions.ts';
export { parseUserOperation, paymasterHash, encodePaymasterData, accountCalls, maxCostWei, type UserOperation, type PaymasterGas } from './user-operation.ts';
export { SponsorError, type SponsorErrorCode } from './errors.ts';
