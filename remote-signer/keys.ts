// The keys coffer signs with for remote clients: a keystore operational key (created here,
// sealed in the encrypted keystore) or an MPC-derived key (coffer's NEAR account + a path,
// signed by chain signatures). Only public facts are stored; the material is reached through
// KeyMaterial at signing time, and any failure to reach it refuses (fail closed).
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { Selectable } from 'kysely';
import { isHex, type Hex } from 'viem';
import { evmAddressOfKey, type EvmOperationalKey, evmOperationalKey } from '../chains/index.ts';
import { isPgError, run, runFirst, runOne, sqlBuilder, withTransaction, type Database, type Pool, type Queryable } from '../infra/index.ts';
import { derivePublicKey, KeystoreError, OperationalKey, SignerError, type Keystore, type KeyReference, type Signature, type Signer } from '../signer/index.ts';
import { RemoteSignerError } from './errors.ts';
import { parseSignerPolicy, type SignerPolicy } from './policy.ts';

export const signerKeyNamePattern = /^[a-z0-9][a-z0-9_-]{0,47}$/;
/** Keystore files of signer keys carry this prefix, so they never collide with relayer or treasury keys. */
const keystorePrefix = 'remote-signer-';
/** MPC-derived keys default to this path under coffer's NEAR account. */
const mpcPathPrefix = 'remote-signer/';

export type EcdsaSignature = Extract<Signature, { curve: 'secp256k1' }>;

export interface SignerKey {
  name: string;
  address: Hex;
  /** The uncompressed point without its 04 prefix, 0x-hex: Web3Signer's key identifier. */
  publicKey: Hex;
  source: 'keystore' | 'mpc';
  keystoreName: string | null;
  predecessor: string | null;
  path: string | null;
  policy: SignerPolicy | null;
  policyVersion: number;
  createdAt: Date;
}

export const keyColumns = ['name', 'address', 'public_key', 'source', 'keystore_name', 'predecessor', 'path', 'policy', 'policy_version', 'created_at'] as const;
export type KeyRow = Pick<Selectable<Database['remote_signer_keys']>, (typeof keyColumns)[number]>;

export function toSignerKey(row: KeyRow): SignerKey {
  const { address, public_key: publicKey, source } = row;
  // The table's CHECK constraints hold these shapes; a row outside them is drift between schema and code.
  assert.ok(isHex(address) && isHex(publicKey) && (source === 'keystore' || source === 'mpc'), `remote_signer_keys row ${row.name} does not have the shape this code knows`);
  return {
    name: row.name,
    address,
    publicKey,
    source,
    keystoreName: row.keystore_name,
    predecessor: row.predecessor,
    path: row.path,
    // Stored policies were validated when set; parsing again fills ids and defaults the same way.
    policy: row.policy === null ? null : parseSignerPolicy(row.policy),
    policyVersion: row.policy_version,
    createdAt: row.created_at,
  };
}

/** The Web3Signer identifier of a secp256k1 public key (compressed or uncompressed bytes). */
export function web3signerPublicKey(publicKey: Uint8Array): Hex {
  return `0x${Buffer.from(secp256k1.Point.fromBytes(publicKey).toBytes(false).subarray(1)).toString('hex')}`;
}

function assertName(name: string): void {
  if (!signerKeyNamePattern.test(name)) throw new RemoteSignerError('invalid_params', `a signer key name is 1–48 lower-case letters, digits, - and _ (got ${JSON.stringify(name.slice(0, 60))})`);
}

async function insertKey(db: Queryable, key: Omit<KeyRow, 'policy' | 'policy_version' | 'created_at'>): Promise<SignerKey> {
  try {
    return toSignerKey(await runOne(db, sqlBuilder.insertInto('remote_signer_keys').values(key).returning(keyColumns)));
  } catch (error) {
    if (isPgError(error) && error.code === '23505') throw new RemoteSignerError('conflict', `a signer key named ${key.name}, or with its address or path, exists already`);
    throw error;
  }
}

/** A new random key sealed in the keystore, registered under `name`. Returns only public facts. */
export async function createKeystoreSignerKey(pool: Pool, keystore: Keystore, name: string): Promise<SignerKey> {
  assertName(name);
  const keystoreName = `${keystorePrefix}${name}`;
  // The row is written in the transaction that creates the file, so a refused name leaves no key behind.
  return withTransaction(pool, async (client) => {
    if (await runFirst(client, sqlBuilder.selectFrom('remote_signer_keys').select('name').where('name', '=', name))) throw new RemoteSignerError('conflict', `a signer key named ${name} exists already`);
    if (await keystore.has(keystoreName)) throw new RemoteSignerError('conflict', `the keystore already holds ${keystoreName}; keys are never overwritten`);
    const created = await keystore.create(keystoreName, 'secp256k1');
    return insertKey(client, {
      name,
      address: evmAddressOfKey(created.publicKey),
      public_key: web3signerPublicKey(created.publicKey),
      source: 'keystore',
      keystore_name: keystoreName,
      predecessor: null,
      path: null,
    });
  });
}

/** A key derived from the MPC root for coffer's NEAR account and a path (by default `remote-signer/<name>`). */
export async function createMpcSignerKey(pool: Pool, options: { name: string; secp256k1Root: string; predecessor: string; path?: string }): Promise<SignerKey> {
  assertName(options.name);
  const path = options.path ?? `${mpcPathPrefix}${options.name}`;
  if (path.length < 1 || path.length > 200) throw new RemoteSignerError('invalid_params', 'an MPC derivation path is 1–200 characters');
  const { publicKey } = derivePublicKey({ root: options.secp256k1Root, predecessor: options.predecessor, path });
  return insertKey(pool, {
    name: options.name,
    address: evmAddressOfKey(publicKey),
    public_key: web3signerPublicKey(publicKey),
    source: 'mpc',
    keystore_name: null,
    predecessor: options.predecessor,
    path,
  });
}

export async function getSignerKey(db: Queryable, name: string): Promise<SignerKey | null> {
  const row = await runFirst(db, sqlBuilder.selectFrom('remote_signer_keys').select(keyColumns).where('name', '=', name));
  return row ? toSignerKey(row) : null;
}

export async function listSignerKeys(db: Queryable): Promise<SignerKey[]> {
  return (await run(db, sqlBuilder.selectFrom('remote_signer_keys').select(keyColumns).orderBy('name'))).map(toSignerKey);
}

/**
 * Where signatures come from: the keystore for operational keys (opened once per key and kept
 * in memory, as the relayer does), the chain-signatures signer for MPC-derived keys. Either may
 * be absent in a process; a key whose material is absent or unreachable refuses to sign.
 */
export class KeyMaterial {
  readonly #keystore: Keystore | undefined;
  readonly #signer: Signer | undefined;
  readonly #opened = new Map<string, Promise<EvmOperationalKey>>();

  constructor(sources: { keystore?: Keystore | undefined; signer?: Signer | undefined }) {
    this.#keystore = sources.keystore;
    this.#signer = sources.signer;
  }

  async signDigest(key: SignerKey, digest: Uint8Array): Promise<EcdsaSignature> {
    try {
      return key.source === 'keystore' ? await this.#signWithKeystore(key, digest) : await this.#signWithMpc(key, digest);
    } catch (error) {
      if (error instanceof RemoteSignerError) throw error;
      // The signer room's messages name no secret; anything else is summarised.
      throw new RemoteSignerError('key_unavailable', `the key ${key.name} cannot sign now: ${error instanceof SignerError || error instanceof KeystoreError ? error.message : 'its material is unreachable'}`);
    }
  }

  async #signWithKeystore(key: SignerKey, digest: Uint8Array): Promise<EcdsaSignature> {
    const keystore = this.#keystore;
    if (!keystore || !key.keystoreName) throw new RemoteSignerError('key_unavailable', `the keystore is not open in this process (set COFFER_KEYSTORE_PASSPHRASE); ${key.name} cannot sign`);
    const name = key.keystoreName;
    let opened = this.#opened.get(name);
    if (!opened) {
      opened = keystore.load(name).then((stored) => evmOperationalKey(new OperationalKey(stored)));
      opened.catch(() => this.#opened.delete(name));
      this.#opened.set(name, opened);
    }
    const operational = await opened;
    if (operational.address.toLowerCase() !== key.address.toLowerCase()) throw new RemoteSignerError('key_unavailable', `the keystore's ${name} is not the key registered as ${key.name}`);
    return operational.signDigest(digest);
  }

  async #signWithMpc(key: SignerKey, digest: Uint8Array): Promise<EcdsaSignature> {
    const signer = this.#signer;
    if (!signer || !key.predecessor || !key.path) throw new RemoteSignerError('key_unavailable', `no chain-signatures signer in this process; ${key.name} cannot sign`);
    const reference: KeyReference = { predecessor: key.predecessor, path: key.path, curve: 'secp256k1' };
    // A key registered against other MPC roots (the emulator's, say) must not sign as if it were this one.
    if (web3signerPublicKey(signer.publicKey(reference)) !== key.publicKey) {
      throw new RemoteSignerError('key_unavailable', `${key.name} was derived from other MPC roots than this signer's (${signer.backend})`);
    }
    const signature = await signer.sign(reference, digest);
    if (signature.curve !== 'secp256k1') throw new RemoteSignerError('key_unavailable', 'the MPC signer returned a non-ECDSA signature');
    return signature;
  }
}
