// PUT /v1/users/:id/near-key and PATCH /v1/users/:id against the NEAR devnet: the key is checked
// on chain and sealed in the keystore; the secret reaches no answer, no log line and no table.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Account, JsonRpcProvider, KeyPair, actions, nearToYocto } from 'near-api-js';
import { startNearDevnet, type NearDevnet } from '../devnets/index.ts';
import { createLogger } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { Keystore, storedNearPublicKey } from '../signer/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { createApiKey } from '../access/index.ts';
import { createApp } from './index.ts';

let devnet: NearDevnet;
let db: TestDatabase;
let writer: LedgerWriter;
let app: ReturnType<typeof createApp>;
let operator: string;
let directory: string;
const logLines: string[] = [];
const full = KeyPair.fromRandom('ed25519');
const functionCall = KeyPair.fromRandom('ed25519');

before(async () => {
  devnet = await startNearDevnet({ blocks: 'on-demand' });
  const provider = new JsonRpcProvider({ url: devnet.rpcUrl });
  const faucet = new Account(devnet.faucet.accountId, provider, devnet.faucet.privateKey);
  await faucet.createAccount({ newAccountId: 'carol.devnet', publicKey: full.getPublicKey(), nearToTransfer: nearToYocto('1') });
  await new Account('carol.devnet', provider, full.toString()).signAndSendTransaction({
    receiverId: 'carol.devnet',
    actions: [actions.addFunctionCallAccessKey(functionCall.getPublicKey(), devnet.signerContract, ['sign'], nearToYocto('0.25'))],
    waitUntil: 'FINAL',
  });
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  directory = await mkdtemp(join(tmpdir(), 'coffer-near-key-api-'));
  const keystore = new Keystore({ directory, passphrase: 'near key api test passphrase', kdf: { m: 256, t: 1, p: 1 } });
  app = createApp({ pool: db.pool, writer, logger: createLogger({ level: 'debug', write: (line) => logLines.push(line) }), near: { rpcUrl: devnet.rpcUrl, keystore } });
  operator = (await createApiKey(db.pool, { role: 'operator' })).key;
});
after(async () => {
  await writer?.close();
  await db?.drop();
  await devnet?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

const call = (path: string, init: RequestInit = {}) => app.request(path, { ...init, headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' } });

describe('NEAR keys and sweep settings through the API', () => {
  test('an operator imports a full-access key; a function-call key is refused; the secret is nowhere', async () => {
    const created = await call('/v1/users', { method: 'POST', body: JSON.stringify({ nearAccountId: 'carol.devnet' }) });
    const user = (await created.json()) as { id: string };
    const bodies: string[] = [];
    const put = async (privateKey: string) => {
      const response = await call(`/v1/users/${user.id}/near-key`, { method: 'PUT', body: JSON.stringify({ privateKey }) });
      bodies.push(await response.clone().text());
      return response;
    };

    const refused = await put(functionCall.toString());
    assert.equal(refused.status, 422);
    assert.match(((await refused.json()) as { detail: string }).detail, /only a function-call key of carol\.devnet/);
    assert.equal((await put('ed25519:' + 'x'.repeat(60))).status, 400);

    const imported = await put(full.toString());
    assert.equal(imported.status, 200, bodies.at(-1));
    assert.deepEqual(await imported.json(), { userId: user.id, accountId: 'carol.devnet', publicKey: full.getPublicKey().toString(), status: 'imported' });
    assert.equal(await storedNearPublicKey(directory, 'carol.devnet'), full.getPublicKey().toString());
    assert.equal((await put(full.toString())).status, 200, 'importing again is harmless');

    const secrets = [full.toString(), functionCall.toString()].map((key) => key.slice('ed25519:'.length));
    const { rows } = await db.pool.query<{ dump: string }>(
      `SELECT concat_ws(' ', (SELECT json_agg(u)::text FROM users u), (SELECT json_agg(e)::text FROM journal_entries e), (SELECT json_agg(k)::text FROM api_keys k), (SELECT json_agg(o)::text FROM outbox o)) AS dump`,
    );
    for (const secret of secrets) {
      for (const body of bodies) assert.ok(!body.includes(secret), 'an answer holds the secret');
      assert.ok(!logLines.join('\n').includes(secret), 'a log line holds the secret');
      assert.ok(!rows[0]!.dump.includes(secret), 'a table holds the secret');
    }
  });

  test('an operator turns sweeps off and on', async () => {
    const created = await call('/v1/users', { method: 'POST', body: JSON.stringify({ nearAccountId: 'dave.devnet' }) });
    const user = (await created.json()) as { id: string; isSweepEnabled: boolean };
    assert.equal(user.isSweepEnabled, true);
    const off = await call(`/v1/users/${user.id}`, { method: 'PATCH', body: JSON.stringify({ isSweepEnabled: false }) });
    assert.equal(off.status, 200);
    assert.equal(((await off.json()) as { isSweepEnabled: boolean }).isSweepEnabled, false);
    assert.equal(((await (await call(`/v1/users/${user.id}`)).json()) as { isSweepEnabled: boolean }).isSweepEnabled, false);
    assert.equal((await call(`/v1/users/${'z'.repeat(16)}`, { method: 'PATCH', body: JSON.stringify({ isSweepEnabled: true }) })).status, 404);
    assert.equal((await call(`/v1/users/${user.id}`, { method: 'PATCH', body: JSON.stringify({ isSweepEnabled: 'yes' }) })).status, 400);
  });
});
