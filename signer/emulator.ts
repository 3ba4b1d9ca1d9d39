// The local chain-signatures emulator, for development, tests and the demo: the same
// derivation as the MPC network, signing with (root secret + tweak), answering in the exact
// shape of the contract's `sign` response (research §7). Its root secrets live in the keystore.
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { formatNajKey, deriveTweak, ed25519Tweak, secp256k1Tweak, type Curve } from './derive.ts';
import type { Keystore } from './keystore.ts';
import { SignerError } from './signature.ts';

export const emulatorRootNames: Record<Curve, string> = { secp256k1: 'emulator-root-secp256k1', ed25519: 'emulator-root-ed25519' };

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

export class ChainSignaturesEmulator {
  private readonly roots: Record<Curve, bigint>;

  constructor(roots: Record<Curve, bigint>) {
    this.roots = roots;
  }

  /** Opens the emulator with its roots from the keystore, creating them the first time. */
  static async open(keystore: Keystore): Promise<ChainSignaturesEmulator> {
    const roots = {} as Record<Curve, bigint>;
    for (const curve of ['secp256k1', 'ed25519'] as const) {
      const name = emulatorRootNames[curve];
      // Another process may create the root between the check and the create: then its root is the one.
      if (!(await keystore.has(name))) await keystore.create(name, curve).catch(async (error: unknown) => {
        if (!(await keystore.has(name))) throw error;
      });
      roots[curve] = (await keystore.load(name)).secretScalar;
    }
    return new ChainSignaturesEmulator(roots);
  }

  /** The emulator's root public key in NAJ style, to derive addresses against. */
  rootKey(curve: Curve): string {
    const point = curve === 'secp256k1' ? secp256k1.Point.BASE.multiply(this.roots.secp256k1).toBytes(false) : ed25519.Point.BASE.multiply(this.roots.ed25519).toBytes();
    return formatNajKey(curve, point);
  }

  /** What the contract's `sign` returns for (predecessor, path, payload, domain). */
  sign(request: { predecessor: string; path: string; payload: Uint8Array; curve: Curve }): unknown {
    const tweak = deriveTweak(request.predecessor, request.path);
    if (request.curve === 'secp256k1') {
      if (request.payload.length !== 32) throw new SignerError('invalid_payload', 'an ECDSA payload is a 32-byte digest');
      const secret = (this.roots.secp256k1 + secp256k1Tweak(tweak)) % secp256k1.Point.Fn.ORDER;
      const recovered = secp256k1.sign(request.payload, Buffer.from(secret.toString(16).padStart(64, '0'), 'hex'), { prehash: false, lowS: true, format: 'recovered' });
      const signature = secp256k1.Signature.fromBytes(recovered, 'recovered');
      // A consistent prefix here; clients must still ignore it and use recovery_id (§4.4).
      const bigR = liftX(signature.r, signature.recovery!);
      return { scheme: 'Secp256k1', big_r: { affine_point: hex(bigR.toBytes(true)) }, s: { scalar: signature.s.toString(16).padStart(64, '0') }, recovery_id: signature.recovery };
    }
    if (request.payload.length < 1 || request.payload.length > 1232) throw new SignerError('invalid_payload', 'an EdDSA payload is 1 to 1232 bytes');
    const order = ed25519.Point.Fn.ORDER;
    const secret = (this.roots.ed25519 + ed25519Tweak(tweak)) % order;
    const publicKey = ed25519.Point.BASE.multiply(secret).toBytes();
    // The MPC signs with a bare scalar (no RFC 8032 seed), so this is Ed25519 written out:
    // a deterministic nonce from the scalar and the message, never repeated across messages.
    const sha512 = (...parts: Uint8Array[]) => bytesToNumberLE(createHash('sha512').update(Buffer.concat(parts)).digest()) % order;
    const scalarBytes = numberToBytesLE(secret, 32);
    const r = sha512(scalarBytes, request.payload);
    const bigR = ed25519.Point.BASE.multiply(r === 0n ? 1n : r).toBytes();
    const k = sha512(bigR, publicKey, request.payload);
    const s = ((r === 0n ? 1n : r) + k * secret) % order;
    return { scheme: 'Ed25519', signature: [...bigR, ...numberToBytesLE(s, 32)] };
  }
}

/** The point with x-coordinate x and the parity given by the recovery id. */
function liftX(x: bigint, recovery: number) {
  return secp256k1.Point.fromBytes(Uint8Array.of(recovery & 1 ? 3 : 2, ...Buffer.from(x.toString(16).padStart(64, '0'), 'hex')));
}
