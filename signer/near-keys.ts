// NEAR account keys in the keystore: a user's own account key (coffer signs its sweeps and
// calls the MPC contract as that predecessor) and coffer's own account key (COFFER_NEAR_ACCOUNT,
// which pays signing refills and storage deposits). NEAR keys are ed25519 seeds; the keystore
// seals the secret scalar the seed expands to (its public key is the account's access key), so
// a NEAR key is stored, listed and opened like every other keystore key. The seed itself is
// dropped as soon as the scalar is known.
import { CodedError } from '../infra/index.ts';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { base58 } from '@scure/base';
import { KeystoreError, type Keystore } from './keystore.ts';
import { SignerError, type Signature } from './signature.ts';

export class NearKeyError extends CodedError<(typeof NearKeyError.codes)[number]> {
  static readonly codes = ['invalid_near_key', 'not_full_access', 'near_key_conflict', 'near_unreachable'] as const;
  override name = 'NearKeyError';
}

/** What the chain says of a public key on an account (`view_access_key`). */
export type AccessKeyKind = 'full-access' | 'function-call' | 'missing';

/**
 * The keystore name of an account's key. Account ids may hold dots, which key names may not,
 * so the name is a hash of the id (a NEAR account id is at most 64 characters).
 */
export function nearKeyName(accountId: string): string {
  return `near-${createHash('sha256').update(accountId).digest('hex').slice(0, 56)}`;
}

/** `ed25519:<base58>`, NEAR's spelling of a public key. */
export const nearPublicKeyString = (publicKey: Uint8Array): string => `ed25519:${base58.encode(publicKey)}`;

/**
 * Reads `ed25519:<base58 of seed ‖ public key>` (or of the 32-byte seed alone), as NEAR wallets
 * and near-api-js write it. The error never quotes the text: it is a secret.
 */
export function parseNearPrivateKey(text: string): { secretScalar: bigint; publicKey: Uint8Array } {
  const trimmed = text.trim();
  const invalid = () => new NearKeyError('invalid_near_key', 'the NEAR key must be ed25519:<base58 secret key> (64 bytes, or the 32-byte seed)');
  if (!trimmed.startsWith('ed25519:')) throw invalid();
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(trimmed.slice('ed25519:'.length));
  } catch {
    throw invalid();
  }
  if (bytes.length !== 64 && bytes.length !== 32) throw invalid();
  const seed = bytes.slice(0, 32);
  const extended = ed25519.utils.getExtendedPublicKey(seed);
  seed.fill(0);
  if (bytes.length === 64 && Buffer.compare(Buffer.from(bytes.subarray(32)), Buffer.from(extended.pointBytes)) !== 0) {
    bytes.fill(0);
    throw new NearKeyError('invalid_near_key', 'the NEAR key is damaged: its public half does not belong to its secret half');
  }
  bytes.fill(0);
  return { secretScalar: extended.scalar, publicKey: extended.pointBytes };
}

/** The public key (NEAR spelling) stored for an account, read from the key file's clear header: no passphrase. */
export async function storedNearPublicKey(directory: string, accountId: string): Promise<string | null> {
  const text = await readFile(join(directory, `${nearKeyName(accountId)}.key.json`), 'utf8').catch(() => null);
  if (text === null) return null;
  const header = JSON.parse(text) as { curve?: string; publicKey?: string };
  if (header.curve !== 'ed25519' || typeof header.publicKey !== 'string') throw new KeystoreError('wrong_curve', `the keystore entry for ${accountId} is not an ed25519 key`);
  return nearPublicKeyString(Buffer.from(header.publicKey, 'hex'));
}

/**
 * Puts an account's key in the keystore after the chain confirms it is a full-access key of that
 * account (a function-call key cannot move NEAR, nor attach the yoctoNEAR a `sign` call needs).
 * Importing the same key again is harmless; a different key for the same account is refused
 * (the stored one is never overwritten).
 */
export async function importNearKey(options: {
  keystore: Keystore;
  accountId: string;
  privateKey: string;
  accessKeyKind: (accountId: string, publicKey: string) => Promise<AccessKeyKind>;
}): Promise<{ accountId: string; publicKey: string; status: 'imported' | 'already_imported' }> {
  const { secretScalar, publicKey } = parseNearPrivateKey(options.privateKey);
  const publicKeyText = nearPublicKeyString(publicKey);
  let kind: AccessKeyKind;
  try {
    kind = await options.accessKeyKind(options.accountId, publicKeyText);
  } catch (error) {
    throw new NearKeyError('near_unreachable', `cannot check the key on chain: ${error instanceof Error ? error.message.slice(0, 200) : 'request failed'}`);
  }
  if (kind !== 'full-access') {
    throw new NearKeyError(
      'not_full_access',
      kind === 'missing' ? `${publicKeyText} is not an access key of ${options.accountId}` : `${publicKeyText} is only a function-call key of ${options.accountId}; coffer needs a full-access key`,
    );
  }
  const stored = await storedNearPublicKey(options.keystore.directory, options.accountId);
  if (stored === publicKeyText) return { accountId: options.accountId, publicKey: publicKeyText, status: 'already_imported' };
  if (stored !== null) throw new NearKeyError('near_key_conflict', `the keystore already holds another key (${stored}) for ${options.accountId}`);
  await options.keystore.store(nearKeyName(options.accountId), 'ed25519', secretScalar);
  return { accountId: options.accountId, publicKey: publicKeyText, status: 'imported' };
}

/**
 * Ed25519 with a bare scalar (what the keystore holds): RFC 8032's equations, with the nonce
 * drawn deterministically from the scalar and the message (never repeated across messages).
 * Any verifier, NEAR's included, accepts it.
 */
export function signEd25519WithScalar(secretScalar: bigint, message: Uint8Array): Uint8Array {
  const order = ed25519.Point.Fn.ORDER;
  const scalar = secretScalar % order;
  const hash = (...parts: Uint8Array[]) => bytesToNumberLE(createHash('sha512').update(Buffer.concat(parts)).digest()) % order;
  const publicKey = ed25519.Point.BASE.multiply(scalar).toBytes();
  const nonce = hash(new TextEncoder().encode('coffer ed25519 nonce'), numberToBytesLE(scalar, 32), message) || 1n;
  const bigR = ed25519.Point.BASE.multiply(nonce).toBytes();
  const s = (nonce + hash(bigR, publicKey, message) * scalar) % order;
  return Uint8Array.from([...bigR, ...numberToBytesLE(s, 32)]);
}

/** Signs with a keystore key by name (the `operational` signer of a planned transaction). */
export function keystoreSigner(keystore: Keystore): (name: string, bytes: Uint8Array) => Promise<Signature> {
  return async (name, bytes) => {
    let key;
    try {
      key = await keystore.load(name);
    } catch (error) {
      throw new SignerError('no_signing_key', error instanceof KeystoreError ? error.message : `cannot open the key ${name}`);
    }
    if (key.curve !== 'ed25519') throw new SignerError('wrong_curve', `the key ${name} is not an ed25519 key`);
    return { curve: 'ed25519', signature: signEd25519WithScalar(key.secretScalar, bytes) };
  };
}
