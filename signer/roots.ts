// The root public keys addresses are derived from, for the configured signer backend:
// the published MPC roots for chain signatures, the emulator's own roots for development.
// Reading them needs no passphrase: a keystore file's header carries its public key in clear.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DerivationError, formatNajKey, parseRootKey, rootKeys, type Curve, type NearNetwork } from './derive.ts';
import { ChainSignaturesEmulator, emulatorRootNames } from './emulator.ts';
import { Keystore, KeystoreError } from './keystore.ts';

export type SignerBackend = 'emulator' | 'chain-signatures';

async function publicKeysInKeystore(directory: string): Promise<Map<string, { curve: Curve; publicKey: string }>> {
  const keys = new Map<string, { curve: Curve; publicKey: string }>();
  const names = await readdir(directory).catch(() => [] as string[]);
  for (const fileName of names.filter((name) => name.endsWith('.key.json'))) {
    const file = JSON.parse(await readFile(join(directory, fileName), 'utf8')) as { name: string; curve: Curve; publicKey: string };
    keys.set(file.name, { curve: file.curve, publicKey: file.publicKey });
  }
  return keys;
}

export async function resolveRootKeys(options: {
  backend: SignerBackend;
  nearNetwork: NearNetwork;
  keystoreDirectory: string;
  /** Configured replacements for the published roots (chain-signatures only). */
  overrides?: Partial<Record<Curve, string>>;
}): Promise<Record<Curve, string>> {
  if (options.backend === 'chain-signatures') {
    const roots = {
      secp256k1: options.overrides?.secp256k1 ?? rootKeys[options.nearNetwork].secp256k1,
      ed25519: options.overrides?.ed25519 ?? rootKeys[options.nearNetwork].ed25519,
    };
    for (const curve of ['secp256k1', 'ed25519'] as const) {
      if (parseRootKey(roots[curve]).curve !== curve) throw new DerivationError('invalid_root_key', `the configured ${curve} root is not a ${curve} key`);
    }
    return roots;
  }
  if (options.overrides?.secp256k1 || options.overrides?.ed25519) {
    throw new DerivationError('invalid_option', 'MPC root overrides apply to the chain-signatures backend; the emulator uses its own development roots');
  }
  const stored = await publicKeysInKeystore(options.keystoreDirectory);
  const roots = {} as Record<Curve, string>;
  for (const curve of ['secp256k1', 'ed25519'] as const) {
    const key = stored.get(emulatorRootNames[curve]);
    if (!key) throw new KeystoreError('key_not_found', `the emulator's ${curve} root is not in ${options.keystoreDirectory}; \`coffer start\` creates it`);
    const bytes = Buffer.from(key.publicKey, 'hex');
    roots[curve] = formatNajKey(curve, curve === 'secp256k1' ? secp256k1.Point.fromBytes(bytes).toBytes(false) : bytes);
  }
  return roots;
}

/** Creates the emulator's roots if they are missing (development and demo start-up). */
export async function ensureEmulatorRoots(keystore: Keystore): Promise<void> {
  await ChainSignaturesEmulator.open(keystore);
}
