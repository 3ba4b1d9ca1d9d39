// The keystore passphrase rotation: interrupted after any file, every file opens with exactly
// one passphrase; run again, it finishes; afterwards the old passphrase opens no file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keystore, rekeyKeystore } from './index.ts';

// Weak Argon2 parameters keep the suite fast; the format and the checks are the same.
const kdf = { m: 256, t: 1, p: 1 };
const oldPassphrase = 'the old keystore passphrase';
const newPassphrase = 'the new keystore passphrase';
let directory: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'coffer-rekey-'));
});
after(() => rm(directory, { recursive: true, force: true }));

const names = ['relayer-a', 'relayer-b', 'solana-fee-payer', 'treasury-hot'];

/** Which passphrase opens each key: 'old', 'new', or 'neither' (never 'both': the salts differ). */
async function openers(): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const name of names) {
    const old = await new Keystore({ directory, passphrase: oldPassphrase, kdf }).load(name).then(() => true, () => false);
    const fresh = await new Keystore({ directory, passphrase: newPassphrase, kdf }).load(name).then(() => true, () => false);
    result[name] = old && fresh ? 'both' : old ? 'old' : fresh ? 'new' : 'neither';
  }
  return result;
}

class Interrupted extends Error {}

describe('re-encrypting the keystore under a new passphrase', () => {
  test('interrupted after the second file it resumes, each file always under one passphrase, and then the old one opens nothing', async () => {
    const store = new Keystore({ directory, passphrase: oldPassphrase, kdf });
    const publicKeys = new Map<string, string>();
    for (const name of names) {
      const created = await store.create(name, name === 'solana-fee-payer' ? 'ed25519' : 'secp256k1');
      publicKeys.set(name, Buffer.from(created.publicKey).toString('hex'));
    }
    let done = 0;
    await assert.rejects(
      rekeyKeystore({
        directory, oldPassphrase, newPassphrase, kdf,
        afterFile: () => {
          done += 1;
          if (done === 2) throw new Interrupted('stopped here');
        },
      }),
      Interrupted,
    );
    // A crash between writing the temporary file and the rename leaves a leftover next to a key.
    await writeFile(join(directory, 'treasury-hot.key.json.reseal.tmp'), '{"half":', { mode: 0o600 });
    assert.deepEqual(await openers(), { 'relayer-a': 'new', 'relayer-b': 'new', 'solana-fee-payer': 'old', 'treasury-hot': 'old' });

    const resumed = await rekeyKeystore({ directory, oldPassphrase, newPassphrase, kdf });
    assert.deepEqual(resumed, { rekeyed: ['solana-fee-payer', 'treasury-hot'], alreadyNew: ['relayer-a', 'relayer-b'], leftoversRemoved: 1 });
    assert.deepEqual(await openers(), Object.fromEntries(names.map((n) => [n, 'new'])));
    for (const name of names) {
      const loaded = await new Keystore({ directory, passphrase: newPassphrase, kdf }).load(name);
      assert.equal(Buffer.from(loaded.publicKey).toString('hex'), publicKeys.get(name), `${name} is the same key`);
      assert.equal((await stat(join(directory, `${name}.key.json`))).mode & 0o777, 0o600);
    }
    assert.deepEqual((await readdir(directory)).filter((n) => !n.endsWith('.key.json')), [], 'no temporary file is left');
  });

  test('a file that opens with neither passphrase stops the run before anything changes', async () => {
    const other = await mkdtemp(join(tmpdir(), 'coffer-rekey-foreign-'));
    try {
      await new Keystore({ directory: other, passphrase: oldPassphrase, kdf }).create('ours', 'secp256k1');
      await new Keystore({ directory: other, passphrase: 'somebody else entirely', kdf }).create('foreign', 'secp256k1');
      await assert.rejects(rekeyKeystore({ directory: other, oldPassphrase, newPassphrase, kdf }), /foreign opens with neither/);
      await new Keystore({ directory: other, passphrase: oldPassphrase, kdf }).load('ours');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  test('a damaged file stops the run as damaged, not as a passphrase mismatch, before anything changes', async () => {
    const other = await mkdtemp(join(tmpdir(), 'coffer-rekey-damaged-'));
    try {
      await new Keystore({ directory: other, passphrase: oldPassphrase, kdf }).create('ours', 'secp256k1');
      // A file of another format: no passphrase opens it, and saying "neither passphrase" would mislead.
      await writeFile(join(other, 'torn.key.json'), JSON.stringify({ version: 2, name: 'torn', curve: 'secp256k1', publicKey: '00' }), { mode: 0o600 });
      await assert.rejects(rekeyKeystore({ directory: other, oldPassphrase, newPassphrase, kdf }), { name: 'KeystoreError', code: 'key_damaged', message: /torn is not a coffer keystore file/ });
      await new Keystore({ directory: other, passphrase: oldPassphrase, kdf }).load('ours');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  test('the new passphrase must differ and be long enough', async () => {
    await assert.rejects(rekeyKeystore({ directory, oldPassphrase: newPassphrase, newPassphrase, kdf }), { name: 'KeystoreError', code: 'weak_passphrase' });
    await assert.rejects(rekeyKeystore({ directory, oldPassphrase: newPassphrase, newPassphrase: 'short', kdf }), /at least 12/);
  });
});
