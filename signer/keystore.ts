// An encrypted keystore for operational keys (relayer, treasury hot wallet, the emulator's
// root secrets): one JSON file per key, the secret sealed with XChaCha20-Poly1305 under a key
// stretched from a passphrase with Argon2id (seed 001 §6.3). The header (name, curve, public
// key, KDF parameters) is authenticated data, so editing any of it breaks decryption too.
// Secrets never leave this module except into the signer backends, and errors never quote them.
import { CodedError } from '../infra/index.ts';
import { createHash, randomBytes } from 'node:crypto';
import { access, link, mkdir, open, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { argon2idAsync } from '@noble/hashes/argon2.js';
import type { Curve } from './derive.ts';

const keystoreErrorCodes = [
  // Settings to fix before anything opens.
  'no_passphrase',
  'weak_passphrase',
  'invalid_key_name',
  // A key that is not there, or already is: the caller creates it, or uses the one there.
  'key_not_found',
  'key_exists',
  // The file is there but does not open: another passphrase may open it (a rekey tries both);
  // a damaged or foreign file never will.
  'wrong_passphrase',
  'key_damaged',
  'wrong_curve',
] as const;

/** Why the keystore refused; the code says what the caller can do about it. */
export class KeystoreError extends CodedError<(typeof keystoreErrorCodes)[number]> {
  static readonly codes = keystoreErrorCodes;
  override name = 'KeystoreError';
}

export interface KdfParams {
  /** Memory in KiB, iterations, parallelism. */
  m: number;
  t: number;
  p: number;
}

/** OWASP's Argon2id minimum (19 MiB, 2 passes), which costs well under a second here. */
export const defaultKdf: KdfParams = { m: 19_456, t: 2, p: 1 };
const namePattern = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const resealSuffix = '.reseal.tmp';

interface KeyFile {
  version: 1;
  name: string;
  curve: Curve;
  /** Hex: compressed SEC1 for secp256k1, 32 bytes for ed25519. */
  publicKey: string;
  kdf: { name: 'argon2id'; salt: string } & KdfParams;
  cipher: { name: 'xchacha20-poly1305'; nonce: string };
  ciphertext: string;
}

/** A secret scalar and its public key. The scalar is a bigint so it never prints as text by accident. */
export interface StoredKey {
  name: string;
  curve: Curve;
  publicKey: Uint8Array;
  secretScalar: bigint;
}

function header(file: Omit<KeyFile, 'ciphertext' | 'cipher'>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([file.version, file.name, file.curve, file.publicKey, file.kdf]));
}

async function stretch(passphrase: string, salt: Uint8Array, kdf: KdfParams): Promise<Uint8Array> {
  if (passphrase.length < 12) throw new KeystoreError('weak_passphrase', 'the keystore passphrase must be at least 12 characters');
  return argon2idAsync(new TextEncoder().encode(passphrase), salt, { ...kdf, dkLen: 32 });
}

export function publicKeyOf(curve: Curve, scalar: bigint): Uint8Array {
  return curve === 'secp256k1' ? secp256k1.Point.BASE.multiply(scalar).toBytes(true) : ed25519.Point.BASE.multiply(scalar).toBytes();
}

function randomScalar(curve: Curve): bigint {
  const order = curve === 'secp256k1' ? secp256k1.Point.Fn.ORDER : ed25519.Point.Fn.ORDER;
  for (;;) {
    // 64 bytes reduced mod the order: bias below 2^-250.
    const candidate = bytesToNumberBE(randomBytes(64)) % order;
    if (candidate !== 0n) return candidate;
  }
}

function keyPath(directory: string, name: string): string {
  if (!namePattern.test(name)) throw new KeystoreError('invalid_key_name', `key name "${name.slice(0, 70)}" must be lower-case letters, digits, - and _`);
  return join(directory, `${name}.key.json`);
}

/** Whether `directory` holds a key file of this name, without a passphrase and without creating anything. */
export function keystoreHasKey(directory: string, name: string): Promise<boolean> {
  return access(keyPath(directory, name)).then(() => true, () => false);
}

export class Keystore {
  readonly directory: string;
  private readonly passphrase: string;
  private readonly kdf: KdfParams;

  constructor(options: { directory: string; passphrase: string; kdf?: KdfParams }) {
    this.directory = options.directory;
    this.passphrase = options.passphrase;
    this.kdf = options.kdf ?? defaultKdf;
  }

  private path(name: string): string {
    return keyPath(this.directory, name);
  }

  /** Whether a key of this name exists; reads no secret, so it needs no passphrase work. */
  has(name: string): Promise<boolean> {
    return keystoreHasKey(this.directory, name);
  }

  /** Creates a new random key; refuses to overwrite one. Returns only public data. */
  async create(name: string, curve: Curve): Promise<{ name: string; curve: Curve; publicKey: Uint8Array }> {
    return this.store(name, curve, randomScalar(curve));
  }

  /** Seals a given scalar (used for the emulator's development roots). */
  async store(name: string, curve: Curve, secretScalar: bigint): Promise<{ name: string; curve: Curve; publicKey: Uint8Array }> {
    const path = this.path(name);
    const existing = await readFile(path).then(() => true, () => false);
    if (existing) throw new KeystoreError('key_exists', `a key named ${name} already exists; keys are never overwritten`);
    const { text, publicKey } = await this.seal(name, curve, secretScalar);
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    // Write, then link into place: a crash never leaves half a key file behind, and link (unlike
    // rename) fails if the name exists, so two processes creating the same key at once (api and
    // workers on a fresh volume) cannot both win, one silently replacing the other's key.
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
    try {
      await link(temporary, path);
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'EEXIST') throw new KeystoreError('key_exists', `a key named ${name} already exists; keys are never overwritten`);
      throw error;
    } finally {
      await unlink(temporary);
    }
    return { name, curve, publicKey };
  }

  /**
   * Seals an opened key again under this keystore's passphrase, replacing its file in one
   * rename (the passphrase rotation, `rekeyKeystore`): the file holds the old sealing or the new
   * one, never a mix, whenever the process stops. The temporary file has a fixed name, so an
   * interrupted run's leftover is found and removed by the next.
   */
  async reseal(stored: StoredKey): Promise<void> {
    const path = this.path(stored.name);
    const { text } = await this.seal(stored.name, stored.curve, stored.secretScalar);
    const temporary = `${path}${resealSuffix}`;
    await rm(temporary, { force: true });
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    // The rename itself is durable only once the directory is.
    const directory = await open(this.directory, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }

  /** Leftovers of an interrupted `reseal` (never a key file: those end in .key.json). */
  async removeResealLeftovers(): Promise<number> {
    const names = (await readdir(this.directory).catch(() => [] as string[])).filter((n) => n.endsWith(`.key.json${resealSuffix}`));
    for (const name of names) await rm(join(this.directory, name), { force: true });
    return names.length;
  }

  private async seal(name: string, curve: Curve, secretScalar: bigint): Promise<{ text: string; publicKey: Uint8Array }> {
    const publicKey = publicKeyOf(curve, secretScalar);
    const salt = randomBytes(16);
    const nonce = randomBytes(24);
    const fields = { version: 1 as const, name, curve, publicKey: Buffer.from(publicKey).toString('hex'), kdf: { name: 'argon2id' as const, salt: salt.toString('hex'), ...this.kdf } };
    const key = await stretch(this.passphrase, salt, this.kdf);
    const plaintext = Buffer.from(secretScalar.toString(16).padStart(64, '0'), 'hex');
    const ciphertext = xchacha20poly1305(key, nonce, header(fields)).encrypt(plaintext);
    plaintext.fill(0);
    key.fill(0);
    const file: KeyFile = { ...fields, cipher: { name: 'xchacha20-poly1305', nonce: nonce.toString('hex') }, ciphertext: Buffer.from(ciphertext).toString('hex') };
    return { text: JSON.stringify(file, null, 2) + '\n', publicKey };
  }

  async load(name: string): Promise<StoredKey> {
    const path = this.path(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      throw new KeystoreError('key_not_found', `no key named ${name} in ${this.directory}`);
    }
    let file: KeyFile;
    try {
      file = JSON.parse(text) as KeyFile;
    } catch {
      throw new KeystoreError('key_damaged', `the key file for ${name} is damaged (not complete JSON; truncated?)`);
    }
    if (file.version !== 1 || file.kdf?.name !== 'argon2id' || file.cipher?.name !== 'xchacha20-poly1305' || typeof file.ciphertext !== 'string') {
      throw new KeystoreError('key_damaged', `the key file for ${name} is not a coffer keystore file of version 1`);
    }
    const key = await stretch(this.passphrase, Buffer.from(file.kdf.salt, 'hex'), { m: file.kdf.m, t: file.kdf.t, p: file.kdf.p });
    let plaintext: Uint8Array;
    try {
      plaintext = xchacha20poly1305(key, Buffer.from(file.cipher.nonce, 'hex'), header(file)).decrypt(Buffer.from(file.ciphertext, 'hex'));
    } catch {
      throw new KeystoreError('wrong_passphrase', `cannot open the key ${name}: wrong passphrase, or the file was changed`);
    } finally {
      key.fill(0);
    }
    const secretScalar = bytesToNumberBE(plaintext);
    plaintext.fill(0);
    const publicKey = publicKeyOf(file.curve, secretScalar);
    if (Buffer.from(publicKey).toString('hex') !== file.publicKey) throw new KeystoreError('key_damaged', `the key ${name} does not match its public key`);
    return { name, curve: file.curve, publicKey, secretScalar };
  }

  /**
   * An ed25519 key (a Solana fee payer) that signs message bytes. Keys here are bare scalars
   * (no RFC 8032 seed), so this is Ed25519 written out with a deterministic nonce from the
   * scalar and the message; the secret stays in the returned closure.
   */
  async ed25519Signer(name: string): Promise<{ publicKey: Uint8Array; sign(message: Uint8Array): Uint8Array }> {
    const stored = await this.load(name);
    if (stored.curve !== 'ed25519') throw new KeystoreError('wrong_curve', `the key ${name} is not an ed25519 key`);
    const { publicKey, secretScalar } = stored;
    const order = ed25519.Point.Fn.ORDER;
    const hashToScalar = (...parts: Uint8Array[]) => bytesToNumberLE(createHash('sha512').update(Buffer.concat(parts)).digest()) % order;
    return {
      publicKey,
      sign(message) {
        const r = hashToScalar(numberToBytesLE(secretScalar, 32), message) || 1n;
        const bigR = ed25519.Point.BASE.multiply(r).toBytes();
        const s = (r + hashToScalar(bigR, publicKey, message) * secretScalar) % order;
        return Uint8Array.from([...bigR, ...numberToBytesLE(s, 32)]);
      },
    };
  }

  async list(): Promise<{ name: string; curve: Curve; publicKey: string }[]> {
    const names = await readdir(this.directory).catch(() => [] as string[]);
    const keys = [];
    for (const fileName of names.filter((n) => n.endsWith('.key.json')).sort()) {
      const file = JSON.parse(await readFile(join(this.directory, fileName), 'utf8')) as KeyFile;
      keys.push({ name: file.name, curve: file.curve, publicKey: file.publicKey });
    }
    return keys;
  }
}

/** The passphrase from COFFER_KEYSTORE_PASSPHRASE, or the file named by COFFER_KEYSTORE_PASSPHRASE_FILE. */
export async function keystorePassphrase(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.COFFER_KEYSTORE_PASSPHRASE) return env.COFFER_KEYSTORE_PASSPHRASE;
  if (env.COFFER_KEYSTORE_PASSPHRASE_FILE) return (await readFile(env.COFFER_KEYSTORE_PASSPHRASE_FILE, 'utf8')).trimEnd();
  throw new KeystoreError('no_passphrase', 'set COFFER_KEYSTORE_PASSPHRASE or COFFER_KEYSTORE_PASSPHRASE_FILE to use the keystore');
}
