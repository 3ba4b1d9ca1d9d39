// Every chain coffer moves money on, by the name account paths and deposit addresses use.
// Adding a chain is a folder beside `evm/` and one line here.
import { evmAdapter } from './evm/adapter.ts';
import { ChainError, type ChainAdapter } from './types.ts';

/** The chain agent wallets and the relayer live on: EVM by design (ERC-20 calls, ERC-2771, Defender). */
export const evmChain = 'ethereum';

export interface ChainOptions {
  /** EVM chain id for payment URIs (EIP-681). */
  evmChainId?: number;
  evmFinalityDepth?: number;
}

export function chainAdapters(options: ChainOptions = {}): ReadonlyMap<string, ChainAdapter> {
  return new Map<string, ChainAdapter>([
    [evmChain, evmAdapter({ ...(options.evmChainId !== undefined ? { chainId: options.evmChainId } : {}), ...(options.evmFinalityDepth !== undefined ? { finalityDepth: options.evmFinalityDepth } : {}) })],
  ]);
}

export function chainAdapter(chain: string, options: ChainOptions = {}): ChainAdapter {
  const adapter = chainAdapters(options).get(chain);
  if (!adapter) throw new ChainError('unsupported_chain', `coffer cannot move money on ${chain} yet (supported: ${[...chainAdapters().keys()].join(', ')})`);
  return adapter;
}
