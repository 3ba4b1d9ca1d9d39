// Rotating the keystore passphrase: every key file sealed again under a new passphrase, one
// file at a time, each replaced in one rename. Interrupted anywhere, every file opens with
// exactly one of the two passphrases, and running the same rotation again finishes it: files
// that already open with the new passphrase are left alone. Nothing is changed unless every
// file opens with one of the two, so a stray or damaged file stops the run before it starts.
import { Keystore, KeystoreError, type KdfParams, type StoredKey } from './keystore.ts';

export interface RekeyReport {
  /** Sealed again by this run. */
  rekeyed: string[];
  /** Already under the new passphrase (an earlier, interrupted run got to them). */
  alreadyNew: string[];
  /** Temporary files of an interrupted run, removed. */
  leftoversRemoved: number;
}

export async function rekeyKeystore(options: {
  directory: string;
  oldPassphrase: string;
  newPassphrase: string;
  kdf?: KdfParams;
  /** Called after each file is replaced (tests stop the run here to prove it resumes). */
  afterFile?: (name: string) => void | Promise<void>;
}): Promise<RekeyReport> {
  if (options.newPassphrase === options.oldPassphrase) throw new KeystoreError('weak_passphrase', 'the new keystore passphrase must differ from the old one');
  if (options.newPassphrase.length < 12) throw new KeystoreError('weak_passphrase', 'the new keystore passphrase must be at least 12 characters');
  const kdf = options.kdf ? { kdf: options.kdf } : {};
  const before = new Keystore({ directory: options.directory, passphrase: options.oldPassphrase, ...kdf });
  const after = new Keystore({ directory: options.directory, passphrase: options.newPassphrase, ...kdf });
  const leftoversRemoved = await after.removeResealLeftovers();
  const pending: StoredKey[] = [];
  const alreadyNew: string[] = [];
  for (const { name } of await before.list()) {
    const opened = await before.load(name).catch((error: unknown) => {
      // Only a passphrase mismatch means "maybe rekeyed already"; a damaged file stops the run.
      if (error instanceof KeystoreError && error.code === 'wrong_passphrase') return null;
      throw error;
    });
    if (opened) {
      pending.push(opened);
      continue;
    }
    const isNew = await after.load(name).then(() => true, () => false);
    if (!isNew) throw new KeystoreError('wrong_passphrase', `the key ${name} opens with neither the old nor the new passphrase; nothing was changed`);
    alreadyNew.push(name);
  }
  const rekeyed: string[] = [];
  for (const stored of pending) {
    await after.reseal(stored);
    rekeyed.push(stored.name);
    await options.afterFile?.(stored.name);
  }
  return { rekeyed, alreadyNew, leftoversRemoved };
}
