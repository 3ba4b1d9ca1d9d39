// One signer interface over the backends: a key reference (predecessor + path + curve) and a
// payload in, a signature out. Fail-closed: whatever the backend returns is parsed as the MPC
// contract's response and verified against the derived public key before anyone sees it; any
// failure is a SignerError whose message names no secret.
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { derivePublicKey, type Curve } from './derive.ts';
import type { ChainSignaturesEmulator } from './emulator.ts';
import { parseSignResponse, SignerError, type Signature } from './signature.ts';

export interface KeyReference {
  /** The NEAR account that calls the signer contract. */
  predecessor: string;
  path: string;
  curve: Curve;
}

export interface Signer {
  readonly backend: 'emulator' | 'chain-signatures';
  /** The root key (NAJ style) this signer derives from; addresses must use the same. */
  rootKey(curve: Curve): string;
  publicKey(key: KeyReference): Uint8Array;
  /** secp256k1: a 32-byte digest. ed25519: the message bytes. */
  sign(key: KeyReference, payload: Uint8Array): Promise<Signature>;
}

/** The arguments of the MPC contract's `sign` call (contract v2), as research §4.1 records them. */
export function signCallArguments(key: KeyReference, payload: Uint8Array) {
  const hex = Buffer.from(payload).toString('hex');
  return {
    request: {
      path: key.path,
      payload_v2: key.curve === 'secp256k1' ? { Ecdsa: hex } : { Eddsa: hex },
      domain_id: key.curve === 'secp256k1' ? 0 : 1,
    },
  };
}

/** How a backend reaches the contract: returns the parsed JSON of the `sign` call's result. */
export type SignCall = (call: { contractId: string; predecessor: string; args: ReturnType<typeof signCallArguments> }) => Promise<unknown>;

function verified(key: KeyReference, publicKey: Uint8Array, payload: Uint8Array, response: unknown): Signature {
  const signature = parseSignResponse(response, key.curve);
  if (signature.curve === 'secp256k1') {
    const recovered = new secp256k1.Signature(signature.r, signature.s, signature.recoveryId).recoverPublicKey(payload).toBytes(false);
    if (Buffer.compare(Buffer.from(recovered), Buffer.from(publicKey)) !== 0) throw new SignerError('invalid_signature', 'the signature does not recover to the derived key');
  } else if (!ed25519.verify(signature.signature, payload, publicKey, { zip215: false })) {
    throw new SignerError('invalid_signature', 'the signature does not verify under the derived key');
  }
  return signature;
}

abstract class VerifyingSigner implements Signer {
  abstract readonly backend: 'emulator' | 'chain-signatures';
  abstract rootKey(curve: Curve): string;
  protected abstract respond(key: KeyReference, payload: Uint8Array): Promise<unknown>;

  publicKey(key: KeyReference): Uint8Array {
    return derivePublicKey({ root: this.rootKey(key.curve), predecessor: key.predecessor, path: key.path }).publicKey;
  }

  async sign(key: KeyReference, payload: Uint8Array): Promise<Signature> {
    if (key.curve === 'secp256k1' && payload.length !== 32) throw new SignerError('invalid_payload', 'an ECDSA payload is a 32-byte digest');
    let response: unknown;
    try {
      response = await this.respond(key, payload);
    } catch (error) {
      // Fail closed, and say why without echoing anything the backend may have included.
      throw new SignerError(error instanceof SignerError ? error.code : 'signer_unavailable', `the ${this.backend} signer is unavailable: ${error instanceof SignerError ? error.message : 'request failed'}`);
    }
    return verified(key, this.publicKey(key), payload, response);
  }
}

export class EmulatorSigner extends VerifyingSigner {
  readonly backend = 'emulator' as const;
  private readonly emulator: ChainSignaturesEmulator;
  constructor(emulator: ChainSignaturesEmulator) {
    super();
    this.emulator = emulator;
  }
  rootKey(curve: Curve): string {
    return this.emulator.rootKey(curve);
  }
  protected respond(key: KeyReference, payload: Uint8Array): Promise<unknown> {
    return Promise.resolve(this.emulator.sign({ ...key, payload }));
  }
}

/** Production: the NEAR MPC contract (`v1.signer`, `v1.signer-prod.testnet`). */
export class ChainSignaturesSigner extends VerifyingSigner {
  readonly backend = 'chain-signatures' as const;
  private readonly options: { contractId: string; roots: Record<Curve, string>; call: SignCall };
  constructor(options: { contractId: string; roots: Record<Curve, string>; call: SignCall }) {
    super();
    this.options = options;
  }
  rootKey(curve: Curve): string {
    return this.options.roots[curve];
  }
  protected respond(key: KeyReference, payload: Uint8Array): Promise<unknown> {
    return this.options.call({ contractId: this.options.contractId, predecessor: key.predecessor, args: signCallArguments(key, payload) });
  }
}
