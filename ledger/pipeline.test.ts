// The writer's pipelined path: many batches in flight, decided from memory, must give exactly
// the answers one batch at a time would; a batch PostgreSQL refuses takes the ones behind it
// back to the careful path without losing or reordering anything.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { LedgerWriter, getBalances, verifyLedger, type AppendRequest, type AppendResult } from './index.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

const deposit = (key: string, account: string, amount: bigint): AppendRequest => ({
  kind: 'deposit',
  idempotencyKey: key,
  postings: [{ source: 'world:ethereum', destination: account, asset: 'ETH', amount }],
});
const transfer = (key: string, from: string, to: string, amount: bigint): AppendRequest => ({
  kind: 'transfer',
  idempotencyKey: key,
  postings: [{ source: from, destination: to, asset: 'ETH', amount }],
});
const balanceOf = async (account: string) => (await getBalances(db.pool, { account, asset: 'ETH' }))[0]?.balance ?? 0n;
const createdIds = (results: AppendResult[]) => results.flatMap((r) => (r.status === 'created' ? [r.entry.id] : []));

async function assertVerified() {
  const report = await verifyLedger(db.pool);
  assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok)));
}

describe('the pipelined writer', () => {
  test('floors are decided across batches in flight exactly as one at a time', async () => {
    const writer = new LedgerWriter({ pool: db.pool, batchSizeMax: 10 });
    try {
      assert.equal((await writer.append(deposit('pf-fund', 'users:pf-a:wallet', 1_000n))).status, 'created');
      // 15 batches of 10, sent at once: the 101st transfer is the first the balance cannot pay.
      // A refill sits between the batches too: 30 more transfers after it succeed.
      const requests = Array.from({ length: 150 }, (_, i) => transfer(`pf-${i}`, 'users:pf-a:wallet', 'users:pf-b:wallet', 10n));
      requests.splice(120, 0, deposit('pf-refill', 'users:pf-a:wallet', 300n));
      const results = await writer.appendMany(requests);
      const statuses = results.map((r) => r.status);
      assert.deepEqual(statuses.slice(0, 100), Array(100).fill('created'));
      assert.deepEqual(statuses.slice(100, 120), Array(20).fill('rejected'));
      assert.deepEqual(statuses.slice(120), Array(31).fill('created'));
      assert.equal(await balanceOf('users:pf-a:wallet'), 0n);
      assert.equal(await balanceOf('users:pf-b:wallet'), 1_300n);
      const ids = createdIds(results);
      assert.deepEqual(ids, ids.map((_, i) => ids[0]! + BigInt(i)), 'entry ids follow the order of the requests, without gaps');
      assert.ok(writer.stats.batches >= 15, `${writer.stats.batches} batches`);
    } finally {
      await writer.close();
    }
    await assertVerified();
  });

  test('a key used before sends its batch, and the batches behind it, to the careful path', async () => {
    const writer = new LedgerWriter({ pool: db.pool, batchSizeMax: 20 });
    // Written by another writer, so that no run of `writer` knows the key.
    const earlier = new LedgerWriter({ pool: db.pool });
    try {
      const original = await earlier.append(deposit('pr-old', 'users:pr:wallet', 7n));
      assert.equal(original.status, 'created');
      const requests = Array.from({ length: 200 }, (_, i) => deposit(`pr-${i}`, `users:pr-${i % 13}:wallet`, BigInt(i + 1)));
      requests[55] = deposit('pr-old', 'users:pr:wallet', 7n); // a retry of the earlier append
      requests[140] = deposit('pr-old', 'users:pr:wallet', 8n); // the same key, another body
      const results = await writer.appendMany(requests);
      assert.equal(results[55]!.status, 'replayed');
      assert.equal(results[55]!.status === 'replayed' && original.status === 'created' && results[55]!.entry.id, original.status === 'created' && original.entry.id);
      assert.deepEqual(results[140], { status: 'conflict', idempotencyKey: 'pr-old', existing: 'entry' });
      assert.equal(results.filter((r) => r.status === 'created').length, 198);
      const ids = createdIds(results);
      assert.deepEqual(ids, ids.map((_, i) => ids[0]! + BigInt(i)), 'entry ids follow the order of the requests, without gaps');
      assert.ok(writer.stats.handedBack >= 2, JSON.stringify(writer.stats));
      assert.equal(await balanceOf('users:pr:wallet'), 7n);
    } finally {
      await earlier.close();
      await writer.close();
    }
    await assertVerified();
  });

  test('a key repeated across batches of one run is answered like a retry', async () => {
    const writer = new LedgerWriter({ pool: db.pool, batchSizeMax: 5 });
    try {
      const requests = Array.from({ length: 30 }, (_, i) => deposit(`pk-${i}`, 'users:pk:wallet', 1n));
      requests.push(deposit('pk-3', 'users:pk:wallet', 1n), transfer('pk-x', 'users:pk:wallet', 'users:pk2:wallet', 100n), transfer('pk-x', 'users:pk:wallet', 'users:pk2:wallet', 100n));
      const results = await writer.appendMany(requests);
      assert.equal(results[30]!.status === 'replayed' && results[3]!.status === 'created' && results[30]!.entry.id === results[3]!.entry.id, true);
      assert.equal(results[31]!.status, 'rejected');
      assert.deepEqual(results[32], { ...results[31], replayed: true });
      assert.equal(await balanceOf('users:pk:wallet'), 30n);
    } finally {
      await writer.close();
    }
    await assertVerified();
  });

  test('a transaction from another writer waits for the run and sees its balances', async () => {
    const writer = new LedgerWriter({ pool: db.pool, batchSizeMax: 25 });
    const other = new LedgerWriter({ pool: db.pool });
    try {
      const burst = writer.appendMany(Array.from({ length: 500 }, (_, i) => deposit(`pt-${i}`, 'users:pt:wallet', 2n)));
      // Meanwhile another writer (another process, as far as PostgreSQL can tell) spends from
      // the same account inside its own transaction: it must see a balance some run committed.
      const spent = await other.transaction(async (tx) => {
        const { rows } = await tx.client.query<{ balance: string }>(
          `SELECT b.balance::text FROM balances b JOIN accounts a ON a.id = b.account_id WHERE a.path = 'users:pt:wallet'`,
        );
        const available = BigInt(rows[0]?.balance ?? '0');
        const [result] = await tx.append([transfer('pt-spend', 'users:pt:wallet', 'users:pt2:wallet', available > 0n ? available : 1n)]);
        return { available, result: result! };
      });
      await burst;
      assert.equal(spent.result.status, spent.available > 0n ? 'created' : 'rejected');
      assert.equal(await balanceOf('users:pt:wallet'), 1_000n - (spent.result.status === 'created' ? spent.available : 0n));
    } finally {
      await writer.close();
      await other.close();
    }
    await assertVerified();
  });
});
