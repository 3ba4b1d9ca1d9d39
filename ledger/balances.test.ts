import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { LedgerWriter, getBalances, getTrialBalance, getStatement, listEntries, setFloorRule, LedgerInputError } from './index.ts';

let db: TestDatabase;
let writer: LedgerWriter;
const ids: bigint[] = [];
const t = (day: number) => new Date(Date.UTC(2026, 0, day));

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  const steps = [
    { day: 1, source: 'world:ethereum', destination: 'users:42:main', amount: 100n },
    { day: 2, source: 'world:ethereum', destination: 'users:42:savings', amount: 50n },
    { day: 3, source: 'users:42:main', destination: 'users:7:main', amount: 30n },
    { day: 4, source: 'users:42:savings', destination: 'treasury:ethereum', amount: 20n },
  ];
  for (const [i, step] of steps.entries()) {
    const result = await writer.append({
      kind: 'transfer',
      idempotencyKey: `b${i}`,
      effectiveAt: t(step.day),
      postings: [{ source: step.source, destination: step.destination, asset: 'ETH', amount: step.amount }],
    });
    assert.equal(result.status, 'created');
    if (result.status === 'created') ids.push(result.entry.id);
  }
  // Appended last but effective on day 2: a late-arriving fact.
  const late = await writer.append({ kind: 'fee', idempotencyKey: 'b-late', effectiveAt: t(2), postings: [{ source: 'users:42:main', destination: 'fees:ethereum', asset: 'ETH', amount: 5n }] });
  assert.equal(late.status, 'created');
});
after(async () => {
  await writer.close();
  await db.drop();
});

describe('balances, point in time, statements', () => {
  test('prefix selectors roll up', async () => {
    const rows = await getBalances(db.pool, { account: 'users:42:*' });
    assert.deepEqual(rows.map((r) => [r.account, r.balance]), [['users:42:main', 65n], ['users:42:savings', 30n]]);
    assert.deepEqual((await getBalances(db.pool, { account: 'users:*:main' })).map((r) => r.account), ['users:42:main', 'users:7:main']);
  });

  test('as of an effective time, late entries count where they belong', async () => {
    const day2 = await getBalances(db.pool, { account: 'users:42:*', asOf: { time: t(2) } });
    assert.deepEqual(day2.map((r) => [r.account, r.balance]), [['users:42:main', 95n], ['users:42:savings', 50n]]);
    const day1 = await getBalances(db.pool, { account: 'users:42:main', asOf: { time: t(1) } });
    assert.equal(day1[0]?.balance, 100n);
  });

  test('as of a journal sequence, what the ledger knew then', async () => {
    const afterThird = await getBalances(db.pool, { account: 'users:42:main', asOf: { sequence: ids[2]! } });
    assert.equal(afterThird[0]?.balance, 70n);
  });

  test('the trial balance is zero now and at any earlier point', async () => {
    for (const asOf of [undefined, { time: t(2) }, { sequence: ids[1]! }]) {
      const [eth] = await getTrialBalance(db.pool, asOf).then((lines) => lines.filter((l) => l.asset === 'ETH'));
      assert.equal(eth?.net, 0n);
      assert.ok(eth.debits > 0n);
    }
  });

  test('a statement pages through postings with a running balance', async () => {
    const first = await getStatement(db.pool, { account: 'users:42:main', asset: 'ETH', limit: 2 });
    assert.deepEqual(first?.lines.map((l) => [l.amount, l.balanceAfter, l.counterparty]), [[100n, 100n, 'world:ethereum'], [-30n, 70n, 'users:7:main']]);
    const second = await getStatement(db.pool, { account: 'users:42:main', asset: 'ETH', limit: 2, after: first.nextCursor! });
    assert.equal(second?.openingBalance, 70n);
    assert.deepEqual(second?.lines.map((l) => l.balanceAfter), [65n]);
    assert.equal(second?.nextCursor, null);
  });

  test('entries filter by account selector, kind and time, in journal order', async () => {
    const byAccount = await listEntries(db.pool, { account: 'users:42:*', limit: 10 });
    assert.equal(byAccount.length, 5);
    const fees = await listEntries(db.pool, { kind: 'fee', limit: 10 });
    assert.deepEqual(fees.map((e) => e.idempotencyKey), ['b-late']);
    const window = await listEntries(db.pool, { from: t(2), to: t(3), limit: 10 });
    assert.deepEqual(window.map((e) => e.idempotencyKey).sort(), ['b-late', 'b1']);
    const page = await listEntries(db.pool, { after: ids[3]!, limit: 10 });
    assert.deepEqual(page.map((e) => e.idempotencyKey), ['b-late']);
  });

  test('a floor rule applies to existing accounts, and cannot be set below a current balance', async () => {
    await setFloorRule(db.pool, { pattern: 'users:7:*', asset: 'ETH', floor: -10n });
    const overdraft = await writer.append({ kind: 'transfer', idempotencyKey: 'b-credit', postings: [{ source: 'users:7:main', destination: 'users:42:main', asset: 'ETH', amount: 40n }] });
    assert.equal(overdraft.status, 'created');
    await assert.rejects(setFloorRule(db.pool, { pattern: 'users:7:*', asset: 'ETH', floor: 0n }), LedgerInputError);
  });
});
