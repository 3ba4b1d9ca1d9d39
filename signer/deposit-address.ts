// From (chain, network, predecessor, path) to the address a deposit goes to: the composition
// the CLI, and later the deposit-address API, use.
import { bitcoinP2wpkhAddress, ethereumAddress, solanaAddress, type BitcoinNetwork } from './addresses.ts';
import { DerivationError, derivePublicKey, parseRootKey, rootKeys, type NearNetwork } from './derive.ts';

export const chains = ['ethereum', 'bitcoin', 'solana'] as const;
export type Chain = (typeof chains)[number];

/** The curve of the keys that control a chain's addresses: the one place this rule is written. */
export function chainCurve(chain: Chain): 'secp256k1' | 'ed25519' {
  return chain === 'solana' ? 'ed25519' : 'secp256k1';
}

export interface DerivedAddress {
  chain: Chain;
  network: NearNetwork;
  predecessor: string;
  path: string;
  /** Hex: uncompressed SEC1 (65 bytes) for secp256k1, 32 bytes for ed25519. */
  publicKey: string;
  address: string;
}

export function deriveAddress(options: {
  chain: Chain;
  network: NearNetwork;
  predecessor: string;
  path: string;
  /** Overrides the published root key of the network (NAJ style). */
  root?: string;
  /** Bitcoin only; defaults to the NEAR network's counterpart (mainnet → bc, testnet → tb). */
  bitcoinNetwork?: BitcoinNetwork;
}): DerivedAddress {
  if (!chains.includes(options.chain)) throw new DerivationError(`chain must be one of ${chains.join(', ')}`);
  const curve = chainCurve(options.chain);
  const root = options.root ?? rootKeys[options.network][curve];
  if (parseRootKey(root).curve !== curve) throw new DerivationError(`${options.chain} addresses come from a ${curve} root key`);
  const { publicKey } = derivePublicKey({ root, predecessor: options.predecessor, path: options.path });
  const address =
    options.chain === 'ethereum'
      ? ethereumAddress(publicKey)
      : options.chain === 'bitcoin'
        ? bitcoinP2wpkhAddress(publicKey, options.bitcoinNetwork ?? options.network)
        : solanaAddress(publicKey);
  return { chain: options.chain, network: options.network, predecessor: options.predecessor, path: options.path, publicKey: Buffer.from(publicKey).toString('hex'), address };
}
