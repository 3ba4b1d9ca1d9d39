// ERC-4337 sponsorship (issue #24): the ERC-7677 paymaster service that signs for coffer's
// verifying paymaster, its policy, the record of every decision, and the rotation of its signing key. api/ serves it; the EVM
// indexer settles included operations through this door.
export { sponsorService, paymasterSignerRotation } from './services.ts';
export {
  rotatePaymasterSigner,
  advancePaymasterSignerRotations,
  listPaymasterSignerRotations,
  signerRotationView,
  activeSignerKeyName,
  activePaymasterSigner,
  resolvePaymasterOwner,
  keystoreOwner,
  nodeAccountOwner,
  paymasterSignerAbi,
  type SignerRotationContext,
  type PaymasterSignerRotation,
  type PaymasterOwner,
  type SponsorSigner,
} from './signer-rotation.ts';
export { handlePaymasterRpc, refusalErrorCode, type SponsorContext, type JsonRpcResponse, type Caller } from './service.ts';
export { parseSponsorPolicy, evaluateSponsorPolicy, usageQueries, sponsorPolicySchema, sponsorRulesMax, type SponsorPolicy, type SponsorPolicyInput, type SponsorRule, type SponsorVerdict } from './policy.ts';
export { setSponsorPolicy, currentSponsorPolicy, listDecisions, settleIncludedOperations, type StoredSponsorPolicy, type DecisionView, type IncludedOperation } from './decisions.ts';
export { parseUserOperation, paymasterHash, encodePaymasterData, accountCalls, maxCostWei, type UserOperation, type PaymasterGas } from './user-operation.ts';
export { SponsorError, type SponsorErrorCode } from './errors.ts';
