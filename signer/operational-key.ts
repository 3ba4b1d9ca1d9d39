// An operational key (a relayer, the treasury hot wallet, a fee payer) opened from the keystore:
// it signs 32-byte digests with its own secret. The secret stays inside this object (a private
// field, never printed); callers see the public key and signatures. What a chain makes of the
// key (its address, how a message is framed before hashing) lives in that chain's folder
// (`chains/evm/operational-key.ts`), so this room holds secrets and nothing chain-specific.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { StoredKey } from './keystore.ts';
import { SignerError, type Signature } from './signature.ts';

export class OperationalKey {
  readonly name: string;
  /** Compressed SEC1, as the keystore holds it. */
  readonly publicKey: Uint8Array;
  readonly #secret: Uint8Array;

  constructor(stored: StoredKey) {
    if (stored.curve !== 'secp256k1') throw new SignerError('wrong_curve', `the key ${stored.name} is not a secp256k1 key`);
    this.name = stored.name;
    this.publicKey = stored.publicKey;
    this.#secret = Buffer.from(stored.secretScalar.toString(16).padStart(64, '0'), 'hex');
  }

  /** ECDSA over a 32-byte digest, low-s, with its recovery id. */
  signDigest(digest: Uint8Array): Extract<Signature, { curve: 'secp256k1' }> {
    if (digest.length !== 32) throw new SignerError('invalid_payload', 'an ECDSA payload is a 32-byte digest');
    const signature = secp256k1.Signature.fromBytes(secp256k1.sign(digest, this.#secret, { prehash: false, lowS: true, format: 'recovered' }), 'recovered');
    return { curve: 'secp256k1', r: signature.r, s: signature.s, recoveryId: signature.recovery as 0 | 1 };
  }
}
