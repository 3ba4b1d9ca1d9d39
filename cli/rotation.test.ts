// Rotation from the command line, as an operator runs it: keys rotate, keystore rekey, webhooks
// rotate-root, each in the audit log that `coffer rotations` prints.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { authenticateApiKey, createApiKey } from '../access/index.ts';
import { Keystore } from '../signer/index.ts';

const entryPoint = fileURLToPath(new URL('./coffer.ts', import.meta.url));
let db: TestDatabase;
let dir: string;
before(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'coffer-rotation-cli-'));
});
after(async () => {
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

function coffer(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entryPoint, ...args], { env: { ...process.env, DATABASE_URL: db.url, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('rotation from the CLI', () => {
  test('keys rotate --json prints the new key once; the old one works until its overlap ends', async () => {
    const old = await createApiKey(db.pool, { role: 'auditor', name: 'firm' });
    const result = await coffer(['keys', 'rotate', old.id, '--overlap', '2h', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const rotated = JSON.parse(result.stdout) as { id: string; role: string; key: string; replaces: string; oldExpiresAt: string };
    assert.deepEqual(Object.keys(rotated).sort(), ['id', 'key', 'oldExpiresAt', 'replaces', 'role']);
    assert.equal(rotated.replaces, old.id);
    assert.ok(!result.stderr.includes(rotated.key), 'the key is not repeated on stderr');
    const expiresAt = new Date(rotated.oldExpiresAt);
    assert.ok(await authenticateApiKey(db.pool, old.key, new Date(expiresAt.getTime() - 1)));
    assert.equal(await authenticateApiKey(db.pool, old.key, expiresAt), null);
    assert.ok(await authenticateApiKey(db.pool, rotated.key, expiresAt));
    const twice = await coffer(['keys', 'rotate', old.id]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /already rotated/);
    const bad = await coffer(['keys', 'rotate', rotated.id, '--overlap', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--overlap/);
  });

  test('keystore rekey re-encrypts every key; the old passphrase then opens none', async () => {
    const keystoreDir = join(dir, 'keys');
    const oldPassphrase = 'an old keystore passphrase';
    for (const name of ['relayer-one', 'treasury-hot']) await new Keystore({ directory: keystoreDir, passphrase: oldPassphrase }).create(name, 'secp256k1');
    const newFile = join(dir, 'new-passphrase');
    await writeFile(newFile, 'a brand new keystore passphrase\n', { mode: 0o600 });
    const result = await coffer(['keystore', 'rekey', '--new-passphrase-file', newFile, '--json'], { COFFER_KEYSTORE_DIR: keystoreDir, COFFER_KEYSTORE_PASSPHRASE: oldPassphrase });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { rekeyed: ['relayer-one', 'treasury-hot'], alreadyNew: [], leftoversRemoved: 0 });
    for (const name of ['relayer-one', 'treasury-hot']) {
      await assert.rejects(new Keystore({ directory: keystoreDir, passphrase: oldPassphrase }).load(name), /wrong passphrase/);
      await new Keystore({ directory: keystoreDir, passphrase: 'a brand new keystore passphrase' }).load(name);
    }
    assert.ok(!result.stdout.includes('brand new') && !result.stderr.includes('brand new'), 'the passphrase is never printed');
  });

  test('webhooks rotate-root writes a new root, keeps the old one for the overlap, and is audited with fingerprints only', async () => {
    const rootFile = join(dir, 'webhook-root');
    await writeFile(rootFile, Buffer.alloc(32, 9).toString('base64url') + '\n', { mode: 0o600 });
    const result = await coffer(['webhooks', 'rotate-root', '--overlap', '7d', '--json'], { WEBHOOK_ROOT_FILE: rootFile });
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as { oldFingerprint: string; newFingerprint: string; previousValidUntil: string };
    assert.notEqual(out.oldFingerprint, out.newFingerprint);
    assert.notEqual((await readFile(rootFile, 'utf8')).trim(), Buffer.alloc(32, 9).toString('base64url'));
    const again = await coffer(['webhooks', 'rotate-root'], { WEBHOOK_ROOT_FILE: rootFile });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /valid until/);
  });

  test('rotations --json lists every rotation, newest first, and filters by kind', async () => {
    const all = await coffer(['rotations', '--json']);
    assert.equal(all.code, 0, all.stderr);
    const events = JSON.parse(all.stdout) as { kind: string; step: string; actor: string }[];
    assert.deepEqual(events.map((e) => e.kind), ['webhook_root', 'keystore_passphrase', 'api_key']);
    assert.ok(events.every((e) => e.step === 'rotated' && e.actor === 'cli'));
    const keys = JSON.parse((await coffer(['rotations', '--kind', 'api_key', '--json'])).stdout) as unknown[];
    assert.equal(keys.length, 1);
    assert.equal((await coffer(['rotations', '--kind', 'nonsense'])).code, 2);
  });
});
