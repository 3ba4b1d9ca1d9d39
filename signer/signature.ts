// Signatures as the NEAR MPC contract returns them, and as chains want them
// (research §4.2–4.4). Both signer backends produce the contract's response shape and pass
// through parseSignResponse, so the emulator exercises the production parsing path.
import { CodedError } from '../infra/index.ts';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';

export type Signature =
  | { curve: 'secp256k1'; r: bigint; s: bigint; recoveryId: 0 | 1 }
  | { curve: 'ed25519'; signature: Uint8Array };

const signerErrorCodes = [
  // The backend did not answer, refused, or gave no final answer in time: the same request may succeed later.
  'signer_unavailable',
  // No key to sign with (not in the keystore, no longer on its NEAR account, another account's transport).
  'no_signing_key',
  // A key of the other curve than the one asked for.
  'wrong_curve',
  // What was asked to be signed is malformed (not a 32-byte digest, too long): the caller's bug.
  'invalid_payload',
  // The backend answered something that is not a valid signature under the derived key: never used.
  'invalid_signature',
] as const;

export class SignerError extends CodedError<(typeof signerErrorCodes)[number]> {
  static readonly codes = signerErrorCodes;
  override name = 'SignerError';
}

const hexPattern = /^[0-9a-fA-F]+$/;
const halfOrder = secp256k1.Point.Fn.ORDER >> 1n;

/** Parses `{"scheme":"Secp256k1","big_r":{"affine_point"},"s":{"scalar"},"recovery_id"}` or `{"scheme":"Ed25519","signature":[…64]}`. */
export function parseSignResponse(response: unknown, expected: 'secp256k1' | 'ed25519'): Signature {
  if (response === null || typeof response !== 'object') throw new SignerError('invalid_signature', 'the signer returned no signature object');
  const body = response as Record<string, unknown>;
  const scheme = body.scheme ?? (body.big_r !== undefined ? 'Secp256k1' : undefined);
  if (expected === 'secp256k1') {
    if (scheme !== 'Secp256k1') throw new SignerError('invalid_signature', `expected a Secp256k1 signature, got ${JSON.stringify(scheme) ?? 'nothing'}`);
    const bigR = (body.big_r as { affine_point?: unknown } | undefined)?.affine_point;
    const scalar = (body.s as { scalar?: unknown } | undefined)?.scalar;
    const recoveryId = body.recovery_id;
    if (typeof bigR !== 'string' || bigR.length !== 66 || !hexPattern.test(bigR)) throw new SignerError('invalid_signature', 'big_r.affine_point is not a 33-byte hex point');
    if (typeof scalar !== 'string' || scalar.length !== 64 || !hexPattern.test(scalar)) throw new SignerError('invalid_signature', 's.scalar is not a 32-byte hex scalar');
    // x-reduced recovery ids (2, 3) occur with probability ~2^-128; refuse rather than guess.
    if (recoveryId !== 0 && recoveryId !== 1) throw new SignerError('invalid_signature', `recovery_id must be 0 or 1, got ${String(recoveryId)}`);
    // r is x(big_r); its 02/03 prefix is NOT the recovery parity once s was normalised (§4.4).
    const r = bytesToNumberBE(Buffer.from(bigR.slice(2), 'hex'));
    const s = bytesToNumberBE(Buffer.from(scalar, 'hex'));
    if (r === 0n || r >= secp256k1.Point.Fn.ORDER || s === 0n || s >= secp256k1.Point.Fn.ORDER) throw new SignerError('invalid_signature', 'r or s is out of range');
    if (s > halfOrder) throw new SignerError('invalid_signature', 'the signature is not low-s (the contract never returns one)');
    return { curve: 'secp256k1', r, s, recoveryId };
  }
  if (scheme !== 'Ed25519') throw new SignerError('invalid_signature', `expected an Ed25519 signature, got ${JSON.stringify(scheme) ?? 'nothing'}`);
  const bytes = body.signature;
  if (!Array.isArray(bytes) || bytes.length !== 64 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new SignerError('invalid_signature', 'an Ed25519 signature is 64 byte values');
  }
  return { curve: 'ed25519', signature: Uint8Array.from(bytes as number[]) };
}

const bytes32 = (value: bigint) => Buffer.from(value.toString(16).padStart(64, '0'), 'hex');

/** For typed Ethereum transactions: r, s as 0x-hex and yParity = recovery id. */
export function toEthereumSignature(signature: Extract<Signature, { curve: 'secp256k1' }>): { r: `0x${string}`; s: `0x${string}`; yParity: 0 | 1 } {
  return { r: `0x${bytes32(signature.r).toString('hex')}`, s: `0x${bytes32(signature.s).toString('hex')}`, yParity: signature.recoveryId };
}

/** 64 bytes r‖s, as bitcoinjs-lib's Signer.sign returns (it adds DER and the sighash byte). */
export function toCompact(signature: Extract<Signature, { curve: 'secp256k1' }>): Uint8Array {
  return new Uint8Array(Buffer.concat([bytes32(signature.r), bytes32(signature.s)]));
}

/** DER(r, s) followed by the sighash type, as a Bitcoin witness carries it. */
export function toBitcoinDer(signature: Extract<Signature, { curve: 'secp256k1' }>, sighashType = 0x01): Uint8Array {
  const der = new secp256k1.Signature(signature.r, signature.s).toBytes('der');
  return Uint8Array.of(...der, sighashType);
}
