// From (chain, NEAR network, predecessor, path) to the address a deposit goes to: the NEAR
// Chain Signatures derivation (signer/, the only holder of key material) composed with the
// chain's adapter (its curve and address codec). A chain registered in `registry.ts` is a deposit
// chain with no edit here, in users/ or in signer/.
import { DerivationError, derivePublicKey, parseRootKey, rootKeys, type BitcoinNetwork, type Curve, type NearNetwork } from '../signer/index.ts';
import { chainAdapters } from './registry.ts';
import type { ChainAdapter } from './types.ts';

// Only the curve, the codec and `depositsTo` are read here, and none of them depends on options.
const adapters = chainAdapters();

/** Every chain users can deposit on, in the registry's order. */
export const depositChains = [...adapters.keys()] as [string, ...string[]];

/** The deposit chains whose addresses are derived from the user's NEAR account (all but NEAR itself). */
export const derivedChains: readonly string[] = depositChains.filter((chain) => adapters.get(chain)!.depositsTo !== 'account');

/** True when deposits on `chain` go to the user's NEAR account itself, not to a derived address. */
export function depositsToAccount(chain: string): boolean {
  return depositAdapter(chain).depositsTo === 'account';
}

/** The curve of the keys that control a chain's addresses, from its adapter. */
export function chainCurve(chain: string): Curve {
  return depositAdapter(chain).curve;
}

/** The networks addresses are spelled for: NEAR's, and those of chains that have their own. */
export interface AddressNetworks {
  network: NearNetwork;
  /** Defaults to the NEAR network's counterpart (mainnet → bc, testnet → tb). */
  bitcoinNetwork?: BitcoinNetwork;
}

// A chain whose address spelling depends on a network of its own reads it from this setting;
// every other chain is told the NEAR network, which its codec ignores.
const ownNetworkSetting: Readonly<Record<string, Exclude<keyof AddressNetworks, 'network'>>> = { bitcoin: 'bitcoinNetwork' };

/** The network a deposit address on `chain` is spelled for (stored beside the address). */
export function addressNetwork(chain: string, networks: AddressNetworks): string {
  const setting = ownNetworkSetting[chain];
  return (setting ? networks[setting] : undefined) ?? networks.network;
}

export interface DerivedAddress {
  chain: string;
  network: NearNetwork;
  /** The network the address is spelled for: the chain's own (Bitcoin's regtest), else `network`. */
  addressNetwork: string;
  predecessor: string;
  path: string;
  /** Hex: uncompressed SEC1 (65 bytes) for secp256k1, 32 bytes for ed25519. */
  publicKey: string;
  address: string;
}

export function deriveAddress(
  options: AddressNetworks & {
    chain: string;
    predecessor: string;
    path: string;
    /** Overrides the published root key of the network (NAJ style). */
    root?: string;
  },
): DerivedAddress {
  if (!derivedChains.includes(options.chain)) throw new DerivationError('invalid_chain', `chain must be one of ${derivedChains.join(', ')}`);
  const adapter = depositAdapter(options.chain);
  const root = options.root ?? rootKeys[options.network][adapter.curve];
  if (parseRootKey(root).curve !== adapter.curve) throw new DerivationError('invalid_root_key', `${options.chain} addresses come from a ${adapter.curve} root key`);
  const { publicKey } = derivePublicKey({ root, predecessor: options.predecessor, path: options.path });
  const spelledFor = addressNetwork(options.chain, options);
  return {
    chain: options.chain,
    network: options.network,
    addressNetwork: spelledFor,
    predecessor: options.predecessor,
    path: options.path,
    publicKey: Buffer.from(publicKey).toString('hex'),
    address: adapter.address.fromPublicKey(publicKey, spelledFor),
  };
}

function depositAdapter(chain: string): ChainAdapter {
  const adapter = adapters.get(chain);
  if (!adapter) throw new DerivationError('invalid_chain', `chain must be one of ${depositChains.join(', ')}`);
  return adapter;
}
