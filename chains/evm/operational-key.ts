// What EVM makes of an operational key: its checksummed address, EIP-191 personal messages and
// EIP-712 typed data. The framing and hashing happen here; the secret never leaves the signer's
// `OperationalKey`, which only signs the resulting digest.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { concatHex, getAddress, keccak256, toHex, type Address, type Hex } from 'viem';
import { ethereumAddress, type OperationalKey, type Signature } from '../../signer/index.ts';

type EcdsaSignature = Extract<Signature, { curve: 'secp256k1' }>;

/** An operational key as the relayer and the treasury use it: an address and three ways to sign. */
export interface EvmOperationalKey {
  readonly name: string;
  readonly address: Address;
  signDigest(digest: Uint8Array): EcdsaSignature;
  /** EIP-191 personal_sign over the bytes of `message`. */
  signMessage(message: Hex): EcdsaSignature;
  /** EIP-712 from its two hashes: keccak256(0x1901 ‖ domainSeparator ‖ hashStruct). */
  signTypedHashes(domainSeparator: Hex, hashStructMessage: Hex): EcdsaSignature;
}

export function evmOperationalKey(key: OperationalKey): EvmOperationalKey {
  return {
    name: key.name,
    address: evmAddressOfKey(key.publicKey),
    signDigest: (digest) => key.signDigest(digest),
    signMessage: (message) => key.signDigest(hexBytes(keccak256(concatHex([toHex(`\x19Ethereum Signed Message:\n${(message.length - 2) / 2}`), message])))),
    signTypedHashes: (domainSeparator, hashStructMessage) => key.signDigest(hexBytes(keccak256(concatHex(['0x1901', domainSeparator, hashStructMessage])))),
  };
}

/** The EVM address of a secp256k1 public key as the keystore holds it (compressed). */
export function evmAddressOfKey(publicKey: Uint8Array): Address {
  return getAddress(ethereumAddress(secp256k1.Point.fromBytes(publicKey).toBytes(false)));
}

const hexBytes = (hex: Hex): Uint8Array => Buffer.from(hex.slice(2), 'hex');

/** r ‖ s ‖ v (v = 27 + recovery id), as eth_sign and Defender's `sig` give it. */
export function signatureHex(signature: EcdsaSignature): { sig: Hex; r: Hex; s: Hex; v: number } {
  const r: Hex = `0x${signature.r.toString(16).padStart(64, '0')}`;
  const s: Hex = `0x${signature.s.toString(16).padStart(64, '0')}`;
  const v = 27 + signature.recoveryId;
  return { sig: concatHex([r, s, toHex(v, { size: 1 })]), r, s, v };
}
