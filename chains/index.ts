// The chains' front door: one adapter per chain behind one interface (ADR 0008). Sweeps,
// spends, refills and the relayer pick an adapter by chain name; only `chains/<chain>/` knows
// how that chain encodes, prices, signs and follows a transaction.
export type {
  AssetSpec,
  AddressCodec,
  BroadcastOutcome,
  ChainAdapter,
  ChainClient,
  FinalityRule,
  PlanOutcome,
  SignedTransaction,
  SigningPayload,
  TransactionStatus,
  TransferRequest,
  UnsignedTransaction,
} from './types.ts';
export { ChainError, InvalidAddressError, SimulationError } from './types.ts';
export { chainAdapter, chainAdapters, evmChain, type ChainOptions } from './registry.ts';
export { signTransfer, awaitConfirmations, type FollowLimits } from './transfers.ts';
export { evmPublicClient } from './evm/client.ts';
export { signEvmTransaction, signEvmTransactionWithKey } from './evm/signing.ts';
export { broadcastStored, nodeAnswer, evmTransactionStatus } from './evm/transactions.ts';
export { nativeTransferGas } from './evm/adapter.ts';
export { evmGasEstimator, type EvmCall, type EvmGasEstimate } from './evm/gas.ts';
export { evmTransferCall, signEvmCall, type EvmTransferCall } from './evm/calls.ts';
