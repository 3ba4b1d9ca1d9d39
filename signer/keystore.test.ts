import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainSignaturesEmulator, Keystore, KeystoreError } from './index.ts';

// Weak Argon2 parameters keep the suite fast; the format and the checks are the same.
const kdf = { m: 256, t: 1, p: 1 };
let directory: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'coffer-keystore-'));
});
after(() => rm(directory, { recursive: true, force: true }));

const passphrase = 'correct horse battery staple';
const file = (name: string) => join(directory, `${name}.key.json`);

describe('the encrypted keystore', () => {
  test('a key round-trips, and its file holds no plaintext secret', async () => {
    const store = new Keystore({ directory, passphrase, kdf });
    const created = await store.create('relayer', 'secp256k1');
    const loaded = await store.load('relayer');
    assert.deepEqual(loaded.publicKey, created.publicKey);
    const text = await readFile(file('relayer'), 'utf8');
    assert.ok(!text.includes(loaded.secretScalar.toString(16).padStart(64, '0')));
    assert.equal((await stat(file('relayer'))).mode & 0o777, 0o600);
    const ed = await store.create('solana-hot', 'ed25519');
    assert.deepEqual((await store.load('solana-hot')).publicKey, ed.publicKey);
    assert.deepEqual((await store.list()).map((k) => k.name), ['relayer', 'solana-hot']);
    assert.ok((await readdir(directory)).every((name) => !name.endsWith('.tmp')));
  });

  test('two keystores creating the same key at once (two processes on one volume): one wins, the other is refused', async () => {
    const [first, second] = await Promise.allSettled([
      new Keystore({ directory, passphrase, kdf }).create('race', 'secp256k1'),
      new Keystore({ directory, passphrase, kdf }).create('race', 'secp256k1'),
    ]);
    const won = [first, second].filter((result) => result.status === 'fulfilled');
    const refused = [first, second].filter((result) => result.status === 'rejected');
    assert.equal(won.length, 1, 'exactly one creation wins');
    assert.ok(refused[0]!.reason instanceof KeystoreError && /already exists/.test((refused[0]!.reason).message));
    assert.deepEqual((await new Keystore({ directory, passphrase, kdf }).load('race')).publicKey, (won[0] as PromiseFulfilledResult<{ publicKey: Uint8Array }>).value.publicKey, 'the stored key is the winner\'s');
    assert.ok((await readdir(directory)).every((name) => !name.endsWith('.tmp')), 'no temporary file left behind');
  });

  test('emulators opened at once on a fresh keystore agree on their roots', async () => {
    const fresh = join(directory, 'fresh');
    const emulators = await Promise.all(Array.from({ length: 4 }, () => ChainSignaturesEmulator.open(new Keystore({ directory: fresh, passphrase, kdf }))));
    for (const curve of ['secp256k1', 'ed25519'] as const) assert.equal(new Set(emulators.map((emulator) => emulator.rootKey(curve))).size, 1, `one ${curve} root`);
  });

  test('a wrong passphrase fails clearly', async () => {
    await assert.rejects(new Keystore({ directory, passphrase: 'not the passphrase at all', kdf }).load('relayer'), /wrong passphrase, or the file was changed/);
    await assert.rejects(new Keystore({ directory, passphrase: 'short', kdf }).load('relayer'), /at least 12 characters/);
  });

  test('a truncated file, changed ciphertext or changed header all fail', async () => {
    const store = new Keystore({ directory, passphrase, kdf });
    await store.create('victim', 'secp256k1');
    const original = await readFile(file('victim'), 'utf8');
    await writeFile(file('victim'), original.slice(0, original.length / 2));
    await assert.rejects(store.load('victim'), /damaged \(not complete JSON; truncated\?\)/);
    const parsed = JSON.parse(original) as { ciphertext: string; publicKey: string };
    const flipped = (parsed.ciphertext[0] === '0' ? '1' : '0') + parsed.ciphertext.slice(1);
    await writeFile(file('victim'), JSON.stringify({ ...parsed, ciphertext: flipped }));
    await assert.rejects(store.load('victim'), /wrong passphrase, or the file was changed/);
    const other = (await store.load('relayer')).publicKey;
    await writeFile(file('victim'), JSON.stringify({ ...parsed, publicKey: Buffer.from(other).toString('hex') }));
    await assert.rejects(store.load('victim'), /file was changed/);
  });

  test('keys are never overwritten; names are checked; errors name no secret', async () => {
    const store = new Keystore({ directory, passphrase, kdf });
    await assert.rejects(store.create('relayer', 'secp256k1'), /already exists/);
    await assert.rejects(store.create('../escape', 'secp256k1'), KeystoreError);
    await assert.rejects(store.load('missing'), (error: Error) => /no key named missing/.test(error.message) && !error.message.includes(passphrase));
  });
});
