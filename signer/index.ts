// The signer's front door. So far: derivation and addresses (issue #3); signer backends next.
export {
  deriveTweak,
  derivePublicKey,
  parseRootKey,
  formatNajKey,
  assertNearAccountId,
  rootKeys,
  tweakPrefix,
  DerivationError,
  type Curve,
  type NearNetwork,
} from './derive.ts';
export { ethereumAddress, bitcoinP2wpkhAddress, solanaAddress, compressSecp256k1, bitcoinHrp, type BitcoinNetwork } from './addresses.ts';
export { deriveAddress, chains, type Chain, type DerivedAddress } from './deposit-address.ts';
