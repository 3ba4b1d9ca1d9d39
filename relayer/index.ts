// The relayer's front door (issue #7): Defender-compatible relayers, gasless forward requests
// and refills of operational balances. api/ serves them; jobs/workers.ts runs the monitor and
// refill passes.
export { RelayError, createRelayer, getRelayer, listRelayers, login, refresh, relayerByAccessToken, relayerByCredentials, relayerAccount, relayChain, OperationalKeys, type Relayer, type Tokens, type TokenSettings } from './relayers.ts';
export { FeeOracle, speeds, type Speed, type Fees } from './pricing.ts';
export {
  sendTransaction,
  replaceTransaction,
  replaceWithNoop,
  broadcast,
  getTransaction,
  findByIdOrNonce,
  defenderView,
  relayerView,
  relayerStatus,
  relayStatus,
  relayNow,
  type RelayContext,
  type RelayedTransaction,
} from './transactions.ts';
export { listTransactions, type ListQuery } from './listing.ts';
export { monitorPass, type MonitorOutcome } from './monitor.ts';
export { startRelayerKeyRotation, advanceKeyRotations, type RotationProgress } from './key-rotation.ts';
export { submitForwardRequest, forwardRequestSchema, getForwardRequest, relayAllQueued, forwardRequestView, forwardRequestTypes, forwarderAbi, type ForwarderContext, type ForwardRequest } from './forwarder.ts';
export { refillPass, refilledToday, recordTreasuryFunding, setRefillTarget, listRefillTargets, listRefillTargetsOfEveryChain, targetBalance, refillHistory, alertSecret, entryPointAbi, type TreasuryHotState, type RefillContext, type RefillOutcome, type RefillTarget, type RefillTargetOfChain } from './refills.ts';
export { treasuryHotAccount, activeTreasuryKey, drainingTreasuryKey, listTreasuryKeys, treasuryView, treasuryNotConfigured, type TreasuryKey, type TreasuryView } from './treasury-keys.ts';
export { rotateTreasuryKey, advanceTreasuryRotation, type TreasuryRotation } from './treasury-rotation.ts';
export { relayServices, type RelayServices } from './services.ts';
export {
  ensureRefillTargetOn,
  refillTargetsOn,
  refillTargetAccount,
  openRefillsOn,
  refillInFlight,
  refillsInFlightAmountOn,
  highestOpenRefillNonce,
  recordSignedRefill,
  lockOpenRefill,
  closeRefill,
  type ChainRefillTarget,
  type OpenRefill,
} from './refill-records.ts';
