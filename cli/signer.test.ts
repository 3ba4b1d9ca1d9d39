// `coffer signer …` as an operator runs it: keys (keystore and MPC-derived), a client whose token
// is printed once and stored hashed, a policy from a file, and what the audit trail shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authenticateSigningClient, getSignerKey } from '../remote-signer/index.ts';
import { evmAddressOfKey } from '../chains/index.ts';
import { derivePublicKey, resolveRootKeys } from '../signer/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { runCoffer } from '../testing/cli.ts';

let db: TestDatabase;
let dir = '';
let env: NodeJS.ProcessEnv = {};

before(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'coffer-signer-cli-'));
  env = { DATABASE_URL: db.url, COFFER_KEYSTORE_DIR: join(dir, 'keys'), COFFER_KEYSTORE_PASSPHRASE: 'signer cli test passphrase', SIGNER_BACKEND: 'emulator', COFFER_NEAR_ACCOUNT: 'coffer.testnet' };
});
after(async () => {
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

const coffer = (args: string[]) => runCoffer(['signer', ...args], { env: { ...process.env, ...env }, cwd: dir });

describe('coffer signer', () => {
  test('keys create --json prints {"name","address"}: a keystore key, and an MPC-derived one', async () => {
    const keystoreKey = await coffer(['keys', 'create', '--name', 'batcher', '--json']);
    assert.equal(keystoreKey.code, 0, keystoreKey.stderr);
    const created = JSON.parse(keystoreKey.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(created).sort(), ['address', 'name']);
    assert.equal(created.name, 'batcher');
    assert.ok((await readdir(join(dir, 'keys'))).includes('remote-signer-batcher.key.json'), 'sealed in the keystore');
    assert.equal((await getSignerKey(db.pool, 'batcher'))?.address, created.address);

    const mpc = await coffer(['keys', 'create', '--name', 'proposer', '--mpc', '--json']);
    assert.equal(mpc.code, 0, mpc.stderr);
    const derived = JSON.parse(mpc.stdout) as Record<string, string>;
    const stored = await getSignerKey(db.pool, 'proposer');
    assert.deepEqual([stored?.source, stored?.predecessor, stored?.path], ['mpc', 'coffer.testnet', 'remote-signer/proposer']);
    // The emulator's root, read from the keystore's public header as `coffer start` reads it.
    const { secp256k1: root } = await resolveRootKeys({ backend: 'emulator', nearNetwork: 'testnet', keystoreDirectory: join(dir, 'keys') });
    assert.equal(derived.address, evmAddressOfKey(derivePublicKey({ root, predecessor: 'coffer.testnet', path: 'remote-signer/proposer' }).publicKey));

    const again = await coffer(['keys', 'create', '--name', 'batcher', '--json']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists already/);
  });

  test('clients create --keys prints {"id","token"} once; only its hash is kept', async () => {
    const result = await coffer(['clients', 'create', '--keys', 'batcher,proposer', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const created = JSON.parse(result.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(created).sort(), ['id', 'token']);
    assert.ok(!result.stderr.includes(created.token!), 'the token is not repeated on stderr');
    const client = await authenticateSigningClient(db.pool, created.token!);
    assert.deepEqual(client?.keyNames, ['batcher', 'proposer']);
    const { rows } = await db.pool.query<{ secret_hash: Buffer }>('SELECT secret_hash FROM remote_signer_clients WHERE id = $1', [created.id]);
    // The secret is base64url and may itself hold '_', so it is everything after `csk_<16-char id>_`.
    const secret = created.token!.slice('csk_'.length + 16 + 1);
    assert.equal(secret.length, 43);
    assert.ok(!rows[0]!.secret_hash.toString('latin1').includes(secret));
    assert.ok(!rows[0]!.secret_hash.toString('base64url').includes(secret));
    const unknown = await coffer(['clients', 'create', '--keys', 'nobody', '--json']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no signer key named nobody/);
  });

  test('policy set --file stores a version and audits it; an invalid document names its field', async () => {
    const file = join(dir, 'policy.json');
    await writeFile(file, JSON.stringify({ rules: [{ type: 'chain_ids', allow: [11155111] }, { type: 'fee_cap', maxFeePerGas: '100000000000' }] }));
    const set = await coffer(['policy', 'set', '--key', 'batcher', '--file', file, '--json']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((JSON.parse(set.stdout) as { version: number }).version, 1);
    await writeFile(file, JSON.stringify({ rules: [{ type: 'fee_cap', maxFeePerGas: 'lots' }] }));
    const invalid = await coffer(['policy', 'set', '--key', 'batcher', '--file', file]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /rules\.0\.maxFeePerGas/);
    const events = await coffer(['events', '--key', 'batcher', '--json']);
    assert.deepEqual((JSON.parse(events.stdout) as { kind: string; actor: string }[]).map((event) => [event.kind, event.actor]), [['policy_set', 'cli']]);
  });
});
