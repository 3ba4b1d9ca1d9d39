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
export { deriveAddress, depositChains, derivedChains, depositsToAccount, chainCurve, addressNetwork, type AddressNetworks, type DerivedAddress } from './deposit-address.ts';
export { evmPublicClient } from './evm/client.ts';
export { signEvmTransaction, signEvmTransactionWithKey, sealEvmTransaction, evmSigningDigest } from './evm/signing.ts';
export { broadcastStored, nodeAnswer, evmTransactionStatus } from './evm/transactions.ts';
export { nativeTransferGas } from './evm/adapter.ts';
// Bitcoin primitives the devnet and the tests build transactions with (chains/bitcoin).
export {
  assembleConsolidation,
  broadcastTransaction,
  consolidationDigests,
  createBitcoinRpc,
  encodeWif,
  p2wpkhAddress,
  p2wpkhScript,
  parseBlock,
  planConsolidation,
  type BitcoinRpc,
} from './bitcoin/index.ts';
export { solanaAdapter } from './solana/adapter.ts';
export { keystoreFeePayer, type SolanaFeePayer } from './solana/fee-payer.ts';
export { solanaAddressCodec } from './solana/codec.ts';
export { nearAdapter, accessKeyKind, finalOutcome, gasPriceYocto, near, sweepReserveYoctoDefault, type NearAdapterOptions } from './near/adapter.ts';
export { nearAccountCodec, isNearAccountId } from './near/account-id.ts';
export { nearRpc, viewAccount, viewAccessKey, callView, NearRpcError, isMissing, type NearRpc } from './near/rpc.ts';
export { nearTransaction, sealNearTransaction, functionCallAction, transferAction, outcomeFeeYocto, outcomeSucceeded, type FinalOutcomeView } from './near/transaction.ts';
export { nearKeystoreSignCall, mpcRootKeys, type SignCost } from './near/sign-call.ts';
export { bitcoinAdapter, type BitcoinChainClient, type ConsolidationInput, type UtxoChainAdapter } from './bitcoin/adapter.ts';
export { satVbToSatKvb, addressToScript, formatBtc, BitcoinRpcError, BitcoinAddressError, bitcoinNetworkNames } from './bitcoin/index.ts';
export { BitcoinBlockError, BitcoinBroadcastError, BitcoinFeeError, BitcoinRpcTransportError, BitcoinTransactionError } from './bitcoin/index.ts';
export { evmGasEstimator, type EvmCall, type EvmGasEstimate } from './evm/gas.ts';
export { evmTransferCall, signEvmCall, type EvmTransferCall } from './evm/calls.ts';
export { evmOperationalKey, evmAddressOfKey, signatureHex, type EvmOperationalKey } from './evm/operational-key.ts';
