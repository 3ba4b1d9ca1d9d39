// An operational key (a relayer, the treasury hot wallet) opened from the keystore: it signs
// EVM transactions, EIP-191 messages and EIP-712 hashes with its own secret. The secret stays
// inside this object (a bigint field, never printed); callers see addresses and signatures.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { concatHex, getAddress, keccak256, toHex, type Address, type Hex } from 'viem';
import { ethereumAddress } from './addresses.ts';
import type { StoredKey } from './keystore.ts';
import { SignerError, type Signature } from './signature.ts';

export class OperationalKey {
  readonly name: string;
  readonly address: Address;
  readonly #secret: Uint8Array;

  constructor(stored: StoredKey) {
    if (stored.curve !== 'secp256k1') throw new SignerError(`the key ${stored.name} is not a secp256k1 key`);
    this.name = stored.name;
    this.#secret = Buffer.from(stored.secretScalar.toString(16).padStart(64, '0'), 'hex');
    this.address = evmAddressOfKey(stored.publicKey);
  }

  /** ECDSA over a 32-byte digest, low-s, with its recovery id. */
  signDigest(digest: Uint8Array): Extract<Signature, { curve: 'secp256k1' }> {
    if (digest.length !== 32) throw new SignerError('an ECDSA payload is a 32-byte digest');
    const signature = secp256k1.Signature.fromBytes(secp256k1.sign(digest, this.#secret, { prehash: false, lowS: true, format: 'recovered' }), 'recovered');
    return { curve: 'secp256k1', r: signature.r, s: signature.s, recoveryId: signature.recovery as 0 | 1 };
  }

  /** EIP-191 personal_sign over the bytes of `message`. */
  signMessage(message: Hex): Extract<Signature, { curve: 'secp256k1' }> {
    const bytes = (message.length - 2) / 2;
    return this.signDigest(hexBytes(keccak256(concatHex([toHex(`\x19Ethereum Signed Message:\n${bytes}`), message]))));
  }

  /** EIP-712 from its two hashes: keccak256(0x1901 ‖ domainSeparator ‖ hashStruct). */
  signTypedHashes(domainSeparator: Hex, hashStructMessage: Hex): Extract<Signature, { curve: 'secp256k1' }> {
    return this.signDigest(hexBytes(keccak256(concatHex(['0x1901', domainSeparator, hashStructMessage]))));
  }
}

/** The EVM address of a secp256k1 public key as the keystore holds it (compressed). */
export function evmAddressOfKey(publicKey: Uint8Array): Address {
  return getAddress(ethereumAddress(secp256k1.Point.fromBytes(publicKey).toBytes(false)));
}

const hexBytes = (hex: Hex): Uint8Array => Buffer.from(hex.slice(2), 'hex');

/** r ‖ s ‖ v (v = 27 + recovery id), as eth_sign and Defender's `sig` give it. */
export function signatureHex(signature: Extract<Signature, { curve: 'secp256k1' }>): { sig: Hex; r: Hex; s: Hex; v: number } {
  const r: Hex = `0x${signature.r.toString(16).padStart(64, '0')}`;
  const s: Hex = `0x${signature.s.toString(16).padStart(64, '0')}`;
  const v = 27 + signature.recoveryId;
  return { sig: concatHex([r, s, toHex(v, { size: 1 })]), r, s, v };
}
