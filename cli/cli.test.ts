// The CLI as a user runs it: a child process, its stdout, stderr and exit code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { runCoffer } from '../testing/cli.ts';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pg } from '../infra/index.ts';
import { authenticateApiKey, createApiKey } from '../access/index.ts';
import { Keystore, rootKeys } from '../signer/index.ts';
import { createUser } from '../users/index.ts';
import { createWallet } from '../wallets/index.ts';
import { startAnvil } from '../devnets/index.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

const coffer = (args: string[], env: Record<string, string> = {}) => runCoffer(args, { env: { ...process.env, DATABASE_URL: db.url, ...env } });

describe('the coffer CLI', () => {
  test('migrate is idempotent on an already migrated database', async () => {
    const result = await coffer(['migrate']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /0 applied, \d+ already applied/);
  });

  test('keys create --json prints exactly one object with the key, once', async () => {
    const result = await coffer(['keys', 'create', '--role', 'auditor', '--name', 'audit firm', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const created = JSON.parse(result.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(created).sort(), ['id', 'key', 'role']);
    assert.equal(created.role, 'auditor');
    assert.match(created.key!, /^coffer_[a-z0-9]{16}_/);
    assert.ok(!result.stderr.includes(created.key!), 'the key is not repeated on stderr');
    const { rows } = await db.pool.query<{ secret_hash: Buffer }>('SELECT secret_hash FROM api_keys WHERE id = $1', [created.id]);
    assert.equal(rows[0]?.secret_hash.length, 32);
  });

  test('bad input exits non-zero with a one-line reason', async () => {
    const role = await coffer(['keys', 'create', '--role', 'root']);
    assert.equal(role.code, 2);
    assert.match(role.stderr, /--role must be one of/);
    const unknown = await coffer(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const config = await coffer(['verify'], { DATABASE_URL: 'mysql://nope' });
    assert.equal(config.code, 1);
    assert.match(config.stderr, /DATABASE_URL: must look like postgres:/);
  });

  test('verify exits 0 when every invariant holds and 1 with the broken entry named otherwise', async () => {
    const good = await coffer(['verify']);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /verdict: every invariant holds/);
    const { createApiKey } = await import('../access/index.ts');
    assert.ok(await createApiKey(db.pool, { role: 'operator' }));
    const { LedgerWriter } = await import('../ledger/index.ts');
    const writer = new LedgerWriter({ pool: db.pool });
    await writer.append({ kind: 'deposit', idempotencyKey: 'cli-1', postings: [{ source: 'world:near', destination: 'users:1:near', asset: 'NEAR', amount: 5n }] });
    await writer.close();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`SET session_replication_role = replica`);
    await client.query(`UPDATE journal_entries SET kind = 'forged' WHERE idempotency_key = 'cli-1'`);
    await client.end();
    const bad = await coffer(['verify']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /FAIL hash_chain .*\[first broken entry: 1\]/);
    assert.match(bad.stdout, /verdict: VIOLATIONS FOUND/);
    const json = await coffer(['verify', '--json']);
    assert.equal((JSON.parse(json.stdout) as { ok: boolean }).ok, false);
  });

  test('bench ledger --json prints one object of the shared bench shape', async () => {
    const result = await coffer(['bench', 'ledger', '--json', '--quick']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { bench: string; metrics: Record<string, Record<string, number>>; ratios: Record<string, number> };
    assert.equal(report.bench, 'ledger');
    for (const name of ['batch1', 'batch100', 'batch500', 'baseline', 'raw', 'indexed', 'replay']) {
      assert.ok(report.metrics[name]!.postingsPerSec! > 0, name);
    }
    assert.ok(report.ratios.batch500_vs_baseline! > 0);
    assert.ok(report.ratios.batch500_vs_raw! > 0);
    assert.ok(report.ratios.indexed_vs_raw! > 0 && report.ratios.batch500_vs_indexed! > 0);
    assert.ok(report.metrics.process!.peakRssMb! > 0);
    // Two fresh processes appended 10k and 40k postings (quick sizes) and reported their peaks.
    assert.equal(report.metrics.memory!.largePostings, 40_000);
    assert.ok(report.metrics.memory!.peakRssSmallMb! > 0 && report.metrics.memory!.peakRssLargeMb! > 0);
    assert.ok(report.ratios.memory_large_vs_small! > 0);
  });

  test('derive prints exactly one object with the address (chainsig.js live-testnet vector)', async () => {
    const result = await coffer(['derive', '--predecessor', 'derivation-test.testnet', '--path', 'unit-test', '--chain', 'bitcoin']);
    assert.equal(result.code, 0, result.stderr);
    const derived = JSON.parse(result.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(derived), ['chain', 'network', 'predecessor', 'path', 'publicKey', 'address']);
    assert.equal(derived.address, 'tb1qhv3ve430qaw392kmweqa6j98dqrw0l7efs5kg7');
    assert.equal(derived.publicKey, '04816353e4086e2619542c0212e17dc509a0dc9f11e0979371a3413be4e87c962763918b19f371d97de8f7d0cca3da5ff2f49928a914b2aec5c36585cda219c735');
    const solana = await coffer(['derive', '--predecessor', 'user123.app.near', '--path', 'solana-1', '--chain', 'solana', '--network', 'mainnet']);
    assert.equal((JSON.parse(solana.stdout) as { address: string }).address, 'Bbr9WKuaeMQF1LUVfTZ8SjVP3NY6YKnBJRn9DcjPWSzr');
  });

  test('derive refuses bad input with one line and a non-zero exit', async () => {
    for (const [args, reason] of [
      [['--predecessor', 'a.near', '--path', 'x', '--chain', 'dogecoin'], /--chain must be one of/],
      [['--predecessor', '', '--path', 'x', '--chain', 'ethereum'], /--predecessor .* is required/],
      [['--predecessor', 'a.near', '--path', 'x', '--chain', 'ethereum', '--root', 'secp256k1:0OIl'], /root key looks like/],
      [['--predecessor', 'NOT VALID', '--path', 'x', '--chain', 'ethereum'], /not a NEAR account id/],
    ] as const) {
      const result = await coffer(['derive', ...args]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, reason);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.equal(result.stdout, '');
    }
  });

  test('bench derive --json reports derivations per second per curve', async () => {
    const result = await coffer(['bench', 'derive', '--json', '--quick']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { bench: string; metrics: Record<string, { perSec: number }>; ratios: Record<string, number> };
    assert.equal(report.bench, 'derive');
    assert.ok(report.metrics.secp256k1_ethereum!.perSec > 0 && report.metrics.ed25519_solana!.perSec > 0);
    assert.ok(report.ratios.secp256k1_vs_tweak! > 0);
  });

  test('keys create-signing-key prints the public key and address, never a secret', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'coffer-cli-keys-'));
    const passphrase = 'a passphrase for the test run';
    try {
      const env = { COFFER_KEYSTORE_DIR: directory, COFFER_KEYSTORE_PASSPHRASE: passphrase };
      const result = await coffer(['keys', 'create-signing-key', '--name', 'treasury-hot', '--curve', 'secp256k1'], env);
      assert.equal(result.code, 0, result.stderr);
      const printed = JSON.parse(result.stdout) as Record<string, string>;
      assert.deepEqual(Object.keys(printed), ['name', 'curve', 'publicKey', 'address']);
      assert.match(printed.address!, /^0x[0-9a-fA-F]{40}$/);
      const secret = (await new Keystore({ directory, passphrase }).load('treasury-hot')).secretScalar.toString(16).padStart(64, '0');
      const everything = (result.stdout + result.stderr).toLowerCase();
      assert.ok(!everything.includes(secret), 'the secret key was printed');
      assert.ok(!everything.includes(passphrase), 'the passphrase was printed');
      const again = await coffer(['keys', 'create-signing-key', '--name', 'treasury-hot', '--curve', 'secp256k1'], env);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already exists/);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  test('keys create --role user is scoped with --user, which must name a user', async () => {
    const missing = await coffer(['keys', 'create', '--role', 'user']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--user <id> goes with --role user/);
    const unknown = await coffer(['keys', 'create', '--role', 'user', '--user', 'nosuchuser000000']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no user nosuchuser000000/);
    const misplaced = await coffer(['keys', 'create', '--role', 'auditor', '--user', 'nosuchuser000000']);
    assert.equal(misplaced.code, 2);
  });

  test('keys create --role agent is scoped with --wallet, which must name a wallet', async () => {
    const missing = await coffer(['keys', 'create', '--role', 'agent']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--wallet <id> goes with --role agent/);
    const unknown = await coffer(['keys', 'create', '--role', 'agent', '--wallet', 'no-such-wallet']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no wallet no-such-wallet/);
    const owner = await createUser(db.pool, { nearAccountId: 'cli-wallet-owner.testnet' });
    await createWallet(db.pool, { nearNetwork: 'testnet', secp256k1Root: rootKeys.testnet.secp256k1, predecessor: 'coffer.testnet' }, { id: 'cli-wallet', ownerUserId: owner.id, actor: 'test' });
    const created = await coffer(['keys', 'create', '--role', 'agent', '--wallet', 'cli-wallet', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const key = JSON.parse(created.stdout) as { id: string; role: string };
    const { rows } = await db.pool.query<{ wallet_id: string }>('SELECT wallet_id FROM api_keys WHERE id = $1', [key.id]);
    assert.equal(rows[0]!.wallet_id, 'cli-wallet');
  });

  test('contracts deploy prints the deployed addresses as one JSON object', async () => {
    const anvil = await startAnvil();
    try {
      const result = await coffer(['contracts', 'deploy', '--rpc', anvil.url]);
      assert.equal(result.code, 0, result.stderr);
      const deployed = JSON.parse(result.stdout) as Record<string, string | number>;
      assert.deepEqual(Object.keys(deployed), ['chainId', 'deployer', 'entryPoint', 'simpleAccountFactory', 'forwarder', 'testToken', 'paymentGateway', 'paymaster', 'verifyingPaymaster', 'verifyingPaymasterSigners']);
      assert.equal(deployed.chainId, 31_337);
      const bad = await coffer(['contracts', 'deploy', '--rpc', anvil.url, '--treasury', 'not-an-address']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--treasury must be an 0x address/);
    } finally {
      await anvil.stop();
    }
  });
});

describe('rotation from the CLI', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-rotation-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

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
