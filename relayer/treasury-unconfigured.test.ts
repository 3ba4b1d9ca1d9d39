// A fresh install (the demo too) has no treasury hot wallet key. That is a state to show, not an
// error: the refill pass skips with one log line, and GET /v1/admin/refills shows
// "not_configured" beside the targets instead of answering 500. The targets there are every
// chain's: NEAR signing funds too, each balance read on its own chain.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from 'near-api-js';
import { createPublicClient, getAddress, http, type PublicClient } from 'viem';
import { createApiKey } from '../access/index.ts';
import { createApp } from '../api/index.ts';
import * as responses from '../api/responses.ts';
import { startAnvil, startNearDevnet, type Anvil } from '../devnets/index.ts';
import { createLogger, loadConfig } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { Keystore } from '../signer/index.ts';
import { ensureNearSigningTarget, nearSigningFunding } from '../sweeps/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { FeeOracle } from './pricing.ts';
import { refillPass, setRefillTarget, type RefillContext } from './refills.ts';
import { OperationalKeys } from './relayers.ts';

const ether = 10n ** 18n;
let anvil: Anvil;
let db: TestDatabase;
let dir = '';
let writer: LedgerWriter;
const logLines: { level: string; msg: string }[] = [];
let refills: RefillContext;

before(async () => {
  anvil = await startAnvil();
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'coffer-no-treasury-'));
  writer = new LedgerWriter({ pool: db.pool });
  const client = createPublicClient({ transport: http(anvil.url) }) as PublicClient;
  const keys = new OperationalKeys(new Keystore({ directory: join(dir, 'keys'), passphrase: 'no-treasury-passphrase', kdf: { m: 256, t: 1, p: 1 } }));
  const logger = createLogger({ level: 'debug', write: (line) => logLines.push(JSON.parse(line) as { level: string; msg: string }) });
  refills = { pool: db.pool, writer, logger, client, keys, treasuryKeyName: 'treasury-hot', treasuryLowBelow: 1n };
  await setRefillTarget(db.pool, { name: 'bundler', kind: 'balance', address: anvil.accounts[5]!, entryPoint: null, fundBelow: 1n * ether, fundTo: 2n * ether, dailyCap: 5n * ether });
});

after(async () => {
  await writer.close();
  await db.drop();
  await anvil.stop();
  await rm(dir, { recursive: true, force: true });
});

test('the refill pass skips cleanly, with one log line, when the treasury key does not exist', async () => {
  logLines.length = 0;
  const outcome = await refillPass(refills);
  assert.ok(outcome);
  assert.equal(outcome.treasury.status, 'not_configured');
  assert.deepEqual(outcome.targets, [], 'no target is judged without a treasury to pay from');
  assert.equal(logLines.length, 1, JSON.stringify(logLines));
  assert.match(logLines[0]!.msg, /refill pass skipped: the treasury hot wallet is not configured/);
  assert.notEqual(logLines[0]!.level, 'error');
  assert.deepEqual(await readdir(dir), [], 'looking for the key creates no keystore directory');
  const { rows } = await db.pool.query('SELECT 1 FROM refills');
  assert.equal(rows.length, 0, 'nothing was sent');
});

test('GET /v1/admin/refills shows the treasury as not configured, with the targets', async () => {
  const client = refills.client;
  const app = createApp({
    pool: db.pool,
    writer,
    logger: refills.logger,
    relay: { ctx: { pool: db.pool, writer, logger: refills.logger, keys: refills.keys, client, fees: new FeeOracle(client, 200), dedupeWindowSeconds: 600, confirmations: 1 }, tokens: { accessTtlSeconds: 3600, refreshTtlSeconds: 86_400 }, refills },
  });
  const operator = (await createApiKey(db.pool, { role: 'operator' })).key;
  const response = await app.request('/v1/admin/refills', { headers: { authorization: `Bearer ${operator}` } });
  const body = (await response.json()) as { treasury: { status: string; keyName: string; hint: string }; targets: { name: string; balance: string | null }[] };
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.deepEqual({ status: body.treasury.status, keyName: body.treasury.keyName }, { status: 'not_configured', keyName: 'treasury-hot' });
  assert.match(body.treasury.hint, /coffer treasury create/);
  assert.deepEqual(body.targets.map((t) => [t.name, t.balance]), [['bundler', (await client.getBalance({ address: anvil.accounts[5]! })).toString()]]);
});

test('GET /v1/admin/refills lists every chain\'s targets: a NEAR signing fund beside the EVM ones, its balance read on NEAR, amounts as integer strings', async () => {
  const devnet = await startNearDevnet({ blocks: 'on-demand' });
  try {
    const faucet = new Account(devnet.faucet.accountId, new JsonRpcProvider({ url: devnet.rpcUrl }), devnet.faucet.privateKey);
    await faucet.createAccount({ newAccountId: 'alice.devnet', publicKey: KeyPair.fromRandom('ed25519').getPublicKey(), nearToTransfer: nearToYocto('0.02') });
    const funding = nearSigningFunding(loadConfig({}));
    await ensureNearSigningTarget(db.pool, 'alice.devnet', funding);
    const app = createApp({
      pool: db.pool,
      writer,
      logger: refills.logger,
      near: { rpcUrl: devnet.rpcUrl, keystore: new Keystore({ directory: join(dir, 'near-keys'), passphrase: 'no-treasury-passphrase', kdf: { m: 256, t: 1, p: 1 } }) },
      relay: { ctx: { pool: db.pool, writer, logger: refills.logger, keys: refills.keys, client: refills.client, fees: new FeeOracle(refills.client, 200), dedupeWindowSeconds: 600, confirmations: 1 }, tokens: { accessTtlSeconds: 3600, refreshTtlSeconds: 86_400 }, refills },
    });
    const operator = (await createApiKey(db.pool, { role: 'operator' })).key;
    const response = await app.request('/v1/admin/refills', { headers: { authorization: `Bearer ${operator}` } });
    const body = responses.refills.parse(await response.json());
    assert.equal(response.status, 200);
    const onNear = BigInt((await new JsonRpcProvider({ url: devnet.rpcUrl }).viewAccount({ accountId: 'alice.devnet', blockQuery: { finality: 'final' } })).amount);
    assert.deepEqual(
      body.targets.map((t) => [t.chain, t.name, t.address, t.account, t.balance, t.fundBelow, t.fundTo, t.dailyCap, t.refilledToday]),
      [
        ['ethereum', 'bundler', getAddress(anvil.accounts[5]!), 'operations:ethereum:bundler', (await refills.client.getBalance({ address: anvil.accounts[5]! })).toString(), (1n * ether).toString(), (2n * ether).toString(), (5n * ether).toString(), '0'],
        ['near', body.targets[1]!.name, 'alice.devnet', 'operations:near:signing:alice.devnet', onNear.toString(), funding.fundBelow.toString(), funding.fundTo.toString(), funding.dailyCap.toString(), '0'],
      ],
    );
    assert.match(body.targets[1]!.name, /^near-signing-[0-9a-f]{24}$/);
  } finally {
    await devnet.stop();
  }
});
