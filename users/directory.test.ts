// The operators' user search against a real PostgreSQL: by id, NEAR account or any part of an
// address, case-insensitively, with LIKE's wildcards taken literally; newest first.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ChainSignaturesEmulator } from '../signer/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { createUser, getDepositAddress, searchUsers } from './index.ts';

// Development roots; any fixed pair serves here.
const emulator = new ChainSignaturesEmulator({
  secp256k1: 0xb9f8b751f90cc222c21378d31b9be8408fbf0f3cc8fb0607fa2f6b4ab4ee1bf8n,
  ed25519: 0x0ba1df8b0a04f86c210e692d87f9f924e70d83ab81c06f2f2c2145bcfc1ee5aen,
});

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

test('users are found by id, NEAR account or address, newest first, with their addresses', async () => {
  const stamp = randomBytes(3).toString('hex');
  const ann = await createUser(db.pool, { nearAccountId: `ann-${stamp}.testnet` });
  const bob = await createUser(db.pool, { nearAccountId: `bob_${stamp}.testnet` });
  const { address } = await getDepositAddress(db.pool, ann.id, 'ethereum', { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') } });

  const all = await searchUsers(db.pool, { limit: 10 });
  assert.deepEqual(all.map((u) => u.id), [bob.id, ann.id]);
  assert.deepEqual(all[1]?.addresses, [{ chain: 'ethereum', address }]);
  assert.deepEqual(all[0]?.addresses, []);

  assert.deepEqual((await searchUsers(db.pool, { query: ann.id.toUpperCase(), limit: 10 })).map((u) => u.id), [ann.id]);
  assert.deepEqual((await searchUsers(db.pool, { query: `BOB_${stamp}`, limit: 10 })).map((u) => u.id), [bob.id]);
  assert.deepEqual((await searchUsers(db.pool, { query: address.slice(10, 20).toUpperCase(), limit: 10 })).map((u) => u.id), [ann.id]);
  // `_` is a LIKE wildcard; the search takes it literally, so "ann_" does not match "ann-".
  assert.deepEqual(await searchUsers(db.pool, { query: `ann_${stamp}`, limit: 10 }), []);
  assert.equal((await searchUsers(db.pool, { limit: 1 })).length, 1);
  await assert.rejects(searchUsers(db.pool, { limit: 0 }), RangeError);
});
