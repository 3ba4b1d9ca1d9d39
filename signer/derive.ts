// NEAR Chain Signatures key derivation, exactly as the MPC network computes it
// (near/mpc kdf.rs; ../shared/research/near-chain-signatures.md §1):
//   tweak = SHA3-256("near-mpc-recovery v0.1.0 epsilon derivation:" + predecessor + "," + path)
//   secp256k1 (domain 0): t = tweak as a big-endian integer, refused when t ≥ n; key = root + t·G
//   ed25519   (domain 1): t = tweak as a little-endian integer mod ℓ;          key = root + t·B
// Only public keys here; the matching secrets (root_sk + t) live in the signer backends.
import { CodedError } from '../infra/index.ts';
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, bytesToNumberLE } from '@noble/curves/utils.js';
import { base58 } from '@scure/base';

export const tweakPrefix = 'near-mpc-recovery v0.1.0 epsilon derivation:';

export type Curve = 'secp256k1' | 'ed25519';
export type NearNetwork = 'mainnet' | 'testnet';

/** The published root keys of the MPC signer contracts (research §2). */
export const rootKeys: Record<NearNetwork, { contract: string; secp256k1: string; ed25519: string }> = {
  testnet: {
    contract: 'v1.signer-prod.testnet',
    secp256k1: 'secp256k1:4NfTiv3UsGahebgTaHyD9vF8KYKMBnfd6kh94mK6xv8fGBiJB8TBtFMP5WWXz6B89Ac1fbpzPwAvoyQebemHFwx3',
    ed25519: 'ed25519:6vSEtQxrQj6txUMh33WC4ERyCWmNMRTdufDWAaDY3Un2',
  },
  mainnet: {
    contract: 'v1.signer',
    secp256k1: 'secp256k1:3tFRbMqmoa6AAALMrEFAYCEoHcqKxeW38YptwowBVBtXK1vo36HDbUWuR6EZmoK4JcH6HDkNMGGqP1ouV7VZUWya',
    ed25519: 'ed25519:G9hwngxWNKdmqMCmU1Yt6LPhFpayJeKFxyAV1HqMNLtF',
  },
};

const derivationErrorCodes = [
  // A NEAR account id (a predecessor, a user's account) that nearcore would refuse: the input's fault.
  'invalid_account_id',
  // A root key that is not one (format, base58, length, off the curve, low order), or of the wrong curve: configuration.
  'invalid_root_key',
  // A chain without derived addresses, or an option of the command that is not one.
  'invalid_chain',
  'invalid_option',
  // A path whose tweak the MPC contract refuses: pick another path.
  'invalid_path',
] as const;

export class DerivationError extends CodedError<(typeof derivationErrorCodes)[number]> {
  static readonly codes = derivationErrorCodes;
  override name = 'DerivationError';
}

// NEAR account ids: 2–64 characters of lower-case letters, digits and separators (nearcore's rule).
const accountIdPattern = /^(?=.{2,64}$)(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$/;

export function assertNearAccountId(accountId: string, field = 'predecessor'): void {
  if (!accountIdPattern.test(accountId)) {
    throw new DerivationError('invalid_account_id', `${field} "${accountId.slice(0, 70)}" is not a NEAR account id (2–64 characters: a-z, 0-9, and . - _ between them)`);
  }
}

/** SHA3-256 (FIPS 202, not Keccak) of the prefix, the predecessor, a comma and the path, as given. */
export function deriveTweak(predecessor: string, path: string): Uint8Array {
  assertNearAccountId(predecessor);
  return new Uint8Array(createHash('sha3-256').update(`${tweakPrefix}${predecessor},${path}`, 'utf8').digest());
}

/** Parses `secp256k1:<base58 of x‖y>` or `ed25519:<base58 of 32 bytes>` (NAJ style). */
export function parseRootKey(text: string): { curve: Curve; point: Uint8Array } {
  const match = /^(secp256k1|ed25519):([1-9A-HJ-NP-Za-km-z]+)$/.exec(text);
  if (!match) throw new DerivationError('invalid_root_key', 'a root key looks like "secp256k1:<base58>" or "ed25519:<base58>"');
  const curve = match[1] as Curve;
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(match[2]!);
  } catch {
    throw new DerivationError('invalid_root_key', 'the root key is not valid base58');
  }
  try {
    if (curve === 'secp256k1') {
      if (bytes.length !== 64) throw new DerivationError('invalid_root_key', 'a secp256k1 root key has 64 bytes (x‖y)');
      const point = Uint8Array.of(4, ...bytes);
      secp256k1.Point.fromBytes(point).assertValidity();
      return { curve, point };
    }
    if (bytes.length !== 32) throw new DerivationError('invalid_root_key', 'an ed25519 root key has 32 bytes');
    const point = ed25519.Point.fromBytes(bytes);
    point.assertValidity();
    // A small-order point decodes fine but no one holds a usable secret for it.
    if (point.is0() || !point.isTorsionFree()) throw new DerivationError('invalid_root_key', 'the ed25519 root key is a low-order point');
    return { curve, point: bytes };
  } catch (error) {
    if (error instanceof DerivationError) throw error;
    throw new DerivationError('invalid_root_key', `the ${curve} root key is not a point on the curve`);
  }
}

export function secp256k1Tweak(tweak: Uint8Array): bigint {
  const t = bytesToNumberBE(tweak);
  // The contract refuses such a tweak (k256 from_repr); reducing it would derive a key nobody can sign for.
  if (t >= secp256k1.Point.Fn.ORDER) throw new DerivationError('invalid_path', 'the tweak is not below the curve order; the MPC contract refuses this path');
  return t;
}

export function ed25519Tweak(tweak: Uint8Array): bigint {
  return bytesToNumberLE(tweak) % ed25519.Point.Fn.ORDER;
}

/** The derived public key: uncompressed SEC1 (65 bytes) for secp256k1, 32 bytes for ed25519. */
export function derivePublicKey(options: { root: string; predecessor: string; path: string }): { curve: Curve; publicKey: Uint8Array } {
  const root = parseRootKey(options.root);
  const tweak = deriveTweak(options.predecessor, options.path);
  if (root.curve === 'secp256k1') {
    const t = secp256k1Tweak(tweak);
    const derived = secp256k1.Point.fromBytes(root.point).add(secp256k1.Point.BASE.multiply(t));
    return { curve: 'secp256k1', publicKey: derived.toBytes(false) };
  }
  const t = ed25519Tweak(tweak);
  const base = ed25519.Point.fromBytes(root.point);
  // t can be 0 mod ℓ only with negligible probability; multiply() refuses 0, so handle it.
  const derived = t === 0n ? base : base.add(ed25519.Point.BASE.multiply(t));
  return { curve: 'ed25519', publicKey: derived.toBytes() };
}

/** NAJ style, as the contract's `derived_public_key` view prints it. */
export function formatNajKey(curve: Curve, publicKey: Uint8Array): string {
  return `${curve}:${base58.encode(curve === 'secp256k1' ? publicKey.slice(1) : publicKey)}`;
}
