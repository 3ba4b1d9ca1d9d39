// Every chain coffer moves money on, by the name account paths and deposit addresses use.
// Adding a chain is a folder beside `evm/` and one line here.
import { bitcoinAdapter } from './bitcoin/adapter.ts';
import type { BitcoinNetwork } from './bitcoin/address.ts';
import type { FeeRatePolicy } from './bitcoin/fee.ts';
import { evmAdapter } from './evm/adapter.ts';
import { solanaAdapter } from './solana/adapter.ts';
import type { SolanaFeePayer } from './solana/fee-payer.ts';
import { nearAdapter, type NearAdapterOptions } from './near/adapter.ts';
import { ChainError, type ChainAdapter } from './types.ts';

/** The chain agent wallets and the relayer live on: EVM by design (ERC-20 calls, ERC-2771, Defender). */
export const evmChain = 'ethereum';

export interface ChainOptions {
  /** EVM chain id for payment URIs (EIP-681). */
  evmChainId?: number;
  evmFinalityDepth?: number;
  /** The keystore key that pays Solana fees and rent. */
  solanaFeePayer?: SolanaFeePayer;
  /** Where NEAR sweeps find the keys they sign with, and the reserve they leave. */
  near?: NearAdapterOptions;
  bitcoin?: { network: BitcoinNetwork; finalityDepth: number; feePolicy: FeeRatePolicy };
}

/** In the order users see them (deposit pages, the API's chain list). */
export function chainAdapters(options: ChainOptions = {}): ReadonlyMap<string, ChainAdapter> {
  return new Map<string, ChainAdapter>([
    [evmChain, evmAdapter({ ...(options.evmChainId !== undefined ? { chainId: options.evmChainId } : {}), ...(options.evmFinalityDepth !== undefined ? { finalityDepth: options.evmFinalityDepth } : {}) })],
    ['bitcoin', bitcoinAdapter(options.bitcoin ?? { network: 'regtest', finalityDepth: 6, feePolicy: { confirmationTarget: 6, minSatKvb: 1_000n, maxSatKvb: 500_000n, fallbackSatKvb: 10_000n } })],
    ['solana', solanaAdapter(options.solanaFeePayer ? { feePayer: options.solanaFeePayer.address, feePayerKey: options.solanaFeePayer.name } : {})],
    ['near', nearAdapter(options.near)],
  ]);
}

export function chainAdapter(chain: string, options: ChainOptions = {}): ChainAdapter {
  const adapter = chainAdapters(options).get(chain);
  if (!adapter) throw new ChainError('unsupported_chain', `coffer cannot move money on ${chain} yet (supported: ${[...chainAdapters().keys()].join(', ')})`);
  return adapter;
}
