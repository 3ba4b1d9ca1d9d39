// The signer's front door: derivation, addresses, the keystore and the signer backends (issue #3).
export {
  deriveTweak,
  derivePublicKey,
  parseRootKey,
  formatNajKey,
  assertNearAccountId,
  rootKeys,
  tweakPrefix,
  DerivationError,
  ed25519Tweak,
  secp256k1Tweak,
  type Curve,
  type NearNetwork,
} from './derive.ts';
export { ethereumAddress, bitcoinP2wpkhAddress, solanaAddress, compressSecp256k1, bitcoinHrp, type BitcoinNetwork } from './addresses.ts';
export { Keystore, KeystoreError, keystoreHasKey, keystorePassphrase, defaultKdf, type KdfParams } from './keystore.ts';
export { rekeyKeystore, type RekeyReport } from './rekey.ts';
export { ChainSignaturesEmulator, emulatorRootNames } from './emulator.ts';
export { EmulatorSigner, ChainSignaturesSigner, signCallArguments, type Signer, type KeyReference, type SignCall } from './signer.ts';
export { parseSignResponse, toEthereumSignature, toBitcoinDer, toCompact, SignerError, type Signature } from './signature.ts';
export { resolveRootKeys, ensureEmulatorRoots, type SignerBackend } from './roots.ts';
export { nearSignCall, signResultFromOutcome, signCallGasTera, signCallDepositYocto } from './near-transport.ts';
export { OperationalKey } from './operational-key.ts';
export type { StoredKey } from './keystore.ts';
export { importNearKey, keystoreSigner, nearKeyName, nearPublicKeyString, parseNearPrivateKey, signEd25519WithScalar, storedNearPublicKey, NearKeyError, type AccessKeyKind } from './near-keys.ts';
