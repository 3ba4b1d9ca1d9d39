// Migration 0012: refill targets accept any chain, and PostgreSQL still refuses a malformed EVM
// address or a chain name that is not a word.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

const insertTarget = (name: string, chain: string, address: string) =>
  db.pool.query(
    `INSERT INTO refill_targets (name, chain, kind, address, account, fund_below, fund_to, daily_cap)
     VALUES ($1, $2, 'balance', $3, $4, 10, 20, 100)`,
    [name, chain, address, `operations:${chain}:${name}`],
  );

describe('chain-neutral refill targets (0012)', () => {
  test('a NEAR predecessor and an EVM address are both targets', async () => {
    await insertTarget('signer-alice', 'near', 'alice.testnet');
    await insertTarget('bundler', 'ethereum', `0x${'ab'.repeat(20)}`);
    const { rows } = await db.pool.query<{ chain: string }>('SELECT chain FROM refill_targets ORDER BY chain');
    assert.deepEqual(rows.map((r) => r.chain), ['ethereum', 'near']);
  });

  test('PostgreSQL refuses a malformed EVM address, a blank address and a chain that is not a word', async () => {
    await assert.rejects(insertTarget('bad-evm', 'ethereum', 'alice.testnet'), { code: '23514', constraint: 'refill_targets_address_check' });
    await assert.rejects(insertTarget('blank', 'near', 'has space'), { code: '23514', constraint: 'refill_targets_address_check' });
    await assert.rejects(insertTarget('bad-chain', 'Near!', 'alice.testnet'), { code: '23514', constraint: 'refill_targets_chain_check' });
  });

  test('a refill without a nonce (UTXO chains) can be recorded', async () => {
    const { rows } = await db.pool.query<{ is_nullable: string }>("SELECT is_nullable FROM information_schema.columns WHERE table_name = 'refills' AND column_name = 'nonce'");
    assert.equal(rows[0]?.is_nullable, 'YES');
  });
});
