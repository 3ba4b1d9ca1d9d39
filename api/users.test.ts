import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { deriveAddress } from '../chains/index.ts';
import { ChainSignaturesEmulator } from '../signer/index.ts';
import { createApiKey } from '../access/index.ts';
import { createApp } from './index.ts';

let db: TestDatabase;
let writer: LedgerWriter;
let app: ReturnType<typeof createApp>;
let operator: string;
let auditor: string;
const emulator = new ChainSignaturesEmulator({ secp256k1: 0x1234567890abcdefn, ed25519: 0xfedcba0987654321n });
const roots = { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') };

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  app = createApp({ pool: db.pool, writer, logger: silentLogger, derivation: { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots } });
  operator = (await createApiKey(db.pool, { role: 'operator' })).key;
  auditor = (await createApiKey(db.pool, { role: 'auditor' })).key;
});
after(async () => {
  await writer.close();
  await db.drop();
});

const call = (path: string, key: string, init: RequestInit = {}) =>
  app.request(path, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
const createUser = async (nearAccountId: string) => {
  const response = await call('/v1/users', operator, { method: 'POST', body: JSON.stringify({ nearAccountId }) });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()) as { id: string; nearAccountId: string; isSweepEnabled: boolean };
};

describe('users and deposit addresses', () => {
  test('an operator creates a user; the NEAR account is unique and checked', async () => {
    const user = await createUser('alice.coffer.testnet');
    assert.match(user.id, /^[a-z0-9]{16}$/);
    assert.equal(user.isSweepEnabled, true);
    const again = await call('/v1/users', operator, { method: 'POST', body: JSON.stringify({ nearAccountId: 'alice.coffer.testnet' }) });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { code: string }).code, 'user_exists');
    const bad = await call('/v1/users', operator, { method: 'POST', body: JSON.stringify({ nearAccountId: 'Not A Near Account' }) });
    assert.equal(bad.status, 422);
    assert.equal((await call('/v1/users', operator, { method: 'POST', body: '{' })).status, 400);
    assert.equal((await call('/v1/users', auditor, { method: 'POST', body: JSON.stringify({ nearAccountId: 'x.testnet' }) })).status, 403);
  });

  test('addresses are derived on first request, stored, and the same forever', async () => {
    const user = await createUser('bob.coffer.testnet');
    for (const chain of ['ethereum', 'bitcoin', 'solana'] as const) {
      const first = (await (await call(`/v1/users/${user.id}/deposit-addresses/${chain}`, operator)).json()) as { address: string; uri: string; path: string; network: string };
      const expected = deriveAddress({ chain, network: 'testnet', bitcoinNetwork: 'regtest', root: roots[chain === 'solana' ? 'ed25519' : 'secp256k1'], predecessor: 'bob.coffer.testnet', path: `${chain}-1` });
      assert.equal(first.address, expected.address);
      assert.equal(first.uri, `${chain}:${expected.address}`);
      assert.equal(first.path, `${chain}-1`);
      const second = (await (await call(`/v1/users/${user.id}/deposit-addresses/${chain}`, operator)).json()) as { address: string };
      assert.equal(second.address, first.address);
    }
    const btc = (await (await call(`/v1/users/${user.id}/deposit-addresses/bitcoin`, operator)).json()) as { address: string; network: string };
    assert.match(btc.address, /^bcrt1q/);
    assert.equal(btc.network, 'regtest');
    const near = (await (await call(`/v1/users/${user.id}/deposit-addresses/near`, operator)).json()) as { address: string; uri: string };
    assert.deepEqual([near.address, near.uri], ['bob.coffer.testnet', 'near:bob.coffer.testnet']);
    const unknown = await call(`/v1/users/${user.id}/deposit-addresses/dogecoin`, operator);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { code: string }).code, 'unknown_chain');
    assert.equal((await call('/v1/users/nosuchuser000000/deposit-addresses/ethereum', operator)).status, 404);
  });

  test('concurrent first requests give one address and one row', async () => {
    const user = await createUser('carol.coffer.testnet');
    const responses = await Promise.all(Array.from({ length: 10 }, () => Promise.resolve(call(`/v1/users/${user.id}/deposit-addresses/ethereum`, operator))));
    const addresses = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as { address: string }).address)));
    assert.equal(addresses.size, 1);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM deposit_addresses WHERE user_id = $1', [user.id]);
    assert.equal(rows[0].n, 1);
  });

  test('a user key sees only its own user', async () => {
    const dave = await createUser('dave.coffer.testnet');
    const erin = await createUser('erin.coffer.testnet');
    const daveKey = (await createApiKey(db.pool, { role: 'user', userId: dave.id })).key;
    assert.equal((await call(`/v1/users/${dave.id}/deposit-addresses/solana`, daveKey)).status, 200);
    assert.equal((await call(`/v1/users/${dave.id}`, daveKey)).status, 200);
    const other = await call(`/v1/users/${erin.id}/deposit-addresses/solana`, daveKey);
    assert.equal(other.status, 404);
    assert.equal((await call('/v1/ledger/entries', daveKey)).status, 403);
    assert.equal((await call(`/v1/users/${erin.id}`, auditor)).status, 403);
    await assert.rejects(createApiKey(db.pool, { role: 'user' }), /needs a user id/);
  });

  test('a stored deposit address cannot be changed, even in SQL', async () => {
    await assert.rejects(db.pool.query(`UPDATE deposit_addresses SET address = 'stolen'`), /append-only/);
    await assert.rejects(db.pool.query('DELETE FROM deposit_addresses'), /append-only/);
  });
});
