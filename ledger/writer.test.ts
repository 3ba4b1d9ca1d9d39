import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { createPool } from '../infra/index.ts';
import { LedgerWriter, getBalances, getEntry, LedgerInputError, verifyLedger, type AppendRequest, type AppendResult } from './index.ts';

let db: TestDatabase;
let writer: LedgerWriter;

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
});
after(async () => {
  await writer.close();
  await db.drop();
});

const deposit = (key: string, account: string, amount: bigint, extra: Partial<AppendRequest> = {}): AppendRequest => ({
  kind: 'deposit',
  idempotencyKey: key,
  postings: [{ source: 'world:ethereum', destination: account, asset: 'ETH', amount }],
  ...extra,
});
const transfer = (key: string, from: string, to: string, amount: bigint): AppendRequest => ({
  kind: 'transfer',
  idempotencyKey: key,
  postings: [{ source: from, destination: to, asset: 'ETH', amount }],
});
function created(result: AppendResult) {
  assert.equal(result.status, 'created', JSON.stringify(result, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  return (result).entry;
}
async function balanceOf(account: string, asset = 'ETH'): Promise<bigint> {
  return (await getBalances(db.pool, { account, asset }))[0]?.balance ?? 0n;
}

describe('the ledger writer', () => {
  test('appends an entry and moves both balances', async () => {
    const entry = created(await writer.append(deposit('w1', 'custody:ethereum:0xa1', 1_000n, { metadata: { tx: '0x01' } })));
    assert.equal(entry.postings.length, 1);
    assert.equal(await balanceOf('custody:ethereum:0xa1'), 1_000n);
    assert.equal(await balanceOf('world:ethereum'), -1_000n);
    const stored = await getEntry(db.pool, entry.id);
    assert.deepEqual(stored?.metadata, { tx: '0x01' });
    assert.equal(stored?.requestHash, entry.requestHash);
  });

  test('the same key and body returns the original entry; another body is a conflict', async () => {
    const first = created(await writer.append(deposit('w2', 'custody:ethereum:0xa2', 5n)));
    const again = await writer.append(deposit('w2', 'custody:ethereum:0xa2', 5n));
    assert.equal(again.status, 'replayed');
    assert.equal(again.status === 'replayed' && again.entry.id, first.id);
    const different = await writer.append(deposit('w2', 'custody:ethereum:0xa2', 6n));
    assert.deepEqual(different, { status: 'conflict', idempotencyKey: 'w2', existing: 'entry' });
    assert.equal(await balanceOf('custody:ethereum:0xa2'), 5n);
  });

  test('a rejection is recorded: a retry stays rejected even after funds arrive', async () => {
    const attempt = await writer.append(transfer('w3', 'custody:ethereum:0xa3', 'treasury:ethereum', 10n));
    assert.equal(attempt.status, 'rejected');
    assert.equal(attempt.status === 'rejected' && attempt.rejection.code, 'floor_breach');
    created(await writer.append(deposit('w3-fund', 'custody:ethereum:0xa3', 100n)));
    const retry = await writer.append(transfer('w3', 'custody:ethereum:0xa3', 'treasury:ethereum', 10n));
    assert.equal(retry.status, 'rejected');
    assert.equal(retry.status === 'rejected' && retry.replayed, true);
    const otherBody = await writer.append(transfer('w3', 'custody:ethereum:0xa3', 'treasury:ethereum', 11n));
    assert.deepEqual(otherBody, { status: 'conflict', idempotencyKey: 'w3', existing: 'rejection' });
    assert.equal(await balanceOf('custody:ethereum:0xa3'), 100n);
  });

  test('floors hold entry by entry inside one batch', async () => {
    created(await writer.append(deposit('w4-fund', 'users:4:wallet', 100n)));
    // Submitted together, these land in one batch: the second would overdraw before the third refills.
    const results = await writer.appendMany([
      transfer('w4-a', 'users:4:wallet', 'users:5:wallet', 60n),
      transfer('w4-b', 'users:4:wallet', 'users:5:wallet', 60n),
      deposit('w4-c', 'users:4:wallet', 100n),
      transfer('w4-d', 'users:4:wallet', 'users:5:wallet', 60n),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['created', 'rejected', 'created', 'created']);
    assert.equal(await balanceOf('users:4:wallet'), 80n);
    assert.equal(await balanceOf('users:5:wallet'), 120n);
  });

  test('an unknown asset is rejected and recorded', async () => {
    const result = await writer.append({ kind: 'deposit', idempotencyKey: 'w5', postings: [{ source: 'world:x', destination: 'users:5:x', asset: 'NOPE', amount: 1n }] });
    assert.equal(result.status === 'rejected' && result.rejection.code, 'unknown_asset');
  });

  test('bad input is refused before it reaches the database', () => {
    assert.throws(() => writer.append(transfer('w6', 'Users:6', 'users:7:x', 1n)), LedgerInputError);
    assert.throws(() => writer.append(transfer('w6', 'users:6:x', 'users:6:x', 1n)), LedgerInputError);
    assert.throws(() => writer.append(transfer('w6', 'users:6:x', 'users:7:x', 0n)), LedgerInputError);
    assert.throws(() => writer.append({ ...transfer('w6', 'users:6:x', 'users:7:x', 1n), metadata: { bad: 'a\u0000b' } }), LedgerInputError);
    assert.throws(() => writer.append({ ...transfer('w6', 'users:6:x', 'users:7:x', 1n), kind: 'Not A Kind' }), LedgerInputError);
  });

  test('reversals mirror the original, and an entry is reversed at most once', async () => {
    const original = created(await writer.append(deposit('w7', 'deposits:ethereum:0xa7:pending', 70n)));
    const mirror: AppendRequest = {
      kind: 'deposit.reorged',
      idempotencyKey: 'w7:reversal',
      reverses: original.id,
      postings: [{ source: 'deposits:ethereum:0xa7:pending', destination: 'world:ethereum', asset: 'ETH', amount: 70n }],
    };
    const wrong = await writer.append({ ...mirror, idempotencyKey: 'w7:wrong', postings: [{ ...mirror.postings[0]!, amount: 69n }] });
    assert.equal(wrong.status === 'rejected' && wrong.rejection.code, 'reversal_mismatch');
    const reversal = created(await writer.append(mirror));
    assert.equal(reversal.reverses, original.id);
    const twice = await writer.append({ ...mirror, idempotencyKey: 'w7:again' });
    assert.equal(twice.status === 'rejected' && twice.rejection.code, 'already_reversed');
    const missing = await writer.append({ ...mirror, idempotencyKey: 'w7:missing', reverses: 999_999n });
    assert.equal(missing.status === 'rejected' && missing.rejection.code, 'reversal_target_missing');
    assert.equal(await balanceOf('deposits:ethereum:0xa7:pending'), 0n);
  });

  test('a key used twice in one batch is answered like a retry', async () => {
    const [a, b, c] = await writer.appendMany([deposit('w8', 'users:8:x', 1n), deposit('w8', 'users:8:x', 1n), deposit('w8', 'users:8:x', 2n)]);
    const entry = created(a!);
    assert.equal(b!.status === 'replayed' && b!.entry.id, entry.id);
    assert.equal(c!.status, 'conflict');
  });

  test('concurrent writers on several connections never overdraw and never fork the chain', async () => {
    created(await writer.append(deposit('w9-fund', 'users:9:wallet', 1_000n)));
    // Four independent writers (as four processes would have), racing for one account.
    const pools = Array.from({ length: 4 }, () => createPool({ connectionString: db.url, max: 2 }));
    const writers = pools.map((pool) => new LedgerWriter({ pool, batchSizeMax: 7 }));
    try {
      const results = await Promise.all(
        writers.flatMap((w, i) => Array.from({ length: 30 }, (_, j) => w.append(transfer(`w9-${i}-${j}`, 'users:9:wallet', `users:9:sink${i}`, 10n)))),
      );
      assert.equal(results.filter((r) => r.status === 'created').length, 100);
      assert.equal(results.filter((r) => r.status === 'rejected').length, 20);
      assert.equal(await balanceOf('users:9:wallet'), 0n);
    } finally {
      await Promise.all(writers.map((w) => w.close()));
      await Promise.all(pools.map((pool) => pool.end()));
    }
    const report = await verifyLedger(db.pool);
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok), (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  });
});
