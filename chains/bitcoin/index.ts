// Bitcoin primitives for the adapter and the indexer: Core-compatible JSON-RPC (also bcoin),
// raw block parsing, addresses by script, P2WPKH consolidation with digest signing, fee rates.
// Pure functions and a thin RPC client; no keys, no database.
export {
  addressToScript,
  bip21Uri,
  bitcoinNetworkNames,
  bitcoinNetworks,
  decodeWif,
  encodeWif,
  formatBtc,
  hash160,
  p2wpkhAddress,
  p2wpkhKeyHash,
  p2wpkhScript,
  BitcoinAddressError,
  type BitcoinNetwork,
} from './address.ts';
export { broadcastTransaction, BitcoinBroadcastError, type BroadcastOutcome } from './broadcast.ts';
export { parseBlock, parseTransaction, BitcoinBlockError, type BlockInput, type BlockOutput, type BlockTransaction, type ParsedBlock } from './block.ts';
export {
  assembleConsolidation,
  bip143Digest,
  consolidationDigests,
  consolidationInputsMax,
  estimateP2wpkhVsize,
  feeForVsize,
  p2wpkhDustLimitSat,
  p2wpkhInputFeeSat,
  planConsolidation,
  rbfSequence,
  BitcoinTransactionError,
  type ConsolidationPlan,
  type InputDigest,
  type P2wpkhUtxo,
  type SignedTransaction,
  type TransactionOutput,
  type UneconomicUtxo,
} from './consolidation.ts';
export { assertFeeRatePolicy, btcPerKvbToSatKvb, chooseFeeRate, estimateFromResult, satVbToSatKvb, BitcoinFeeError, type FeeRateChoice, type FeeRatePolicy } from './fee.ts';
export {
  createBitcoinRpc,
  isNotFound,
  rpcErrorCodes,
  BitcoinRpcError,
  BitcoinRpcTransportError,
  type BitcoinRpc,
  type BitcoinRpcOptions,
  type BlockHeaderInfo,
  type EstimateSmartFeeResult,
} from './rpc.ts';
