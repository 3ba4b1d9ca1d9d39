// The shared check of an append's answer: entries made or replayed pass (and narrow), every other
// answer is one coded error naming the key and why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertAppended, LedgerRefusedError, type AppendResult, type JournalEntry } from './index.ts';

const entry: JournalEntry = {
  id: 7n, kind: 'deposit.confirmed', idempotencyKey: 'k', requestHash: 'h', effectiveAt: new Date(0), insertedAt: new Date(0),
  sourceRef: null, metadata: {}, reverses: null, postings: [],
};

test('created and replayed pass and narrow to their entry', () => {
  for (const status of ['created', 'replayed'] as const) {
    const result: AppendResult | undefined = { status, entry };
    assertAppended(result, 'k');
    assert.equal(result.entry.id, 7n);
  }
});

test('a conflict, a rejection or no answer is a LedgerRefusedError naming the key and why', () => {
  const refusals: [AppendResult | undefined, RegExp][] = [
    [{ status: 'conflict', idempotencyKey: 'k', existing: 'entry' }, /another request already holds this key \(entry\)/],
    [{ status: 'rejected', rejection: { code: 'floor_breach', message: 'below its floor', detail: {} }, replayed: false }, /floor_breach: below its floor/],
    [undefined, /no answer/],
  ];
  for (const [result, why] of refusals) {
    assert.throws(() => assertAppended(result, 'deposit:0xabc:0'), (error: unknown) => {
      assert.ok(error instanceof LedgerRefusedError);
      assert.equal(error.code, 'ledger_refused');
      assert.equal(error.idempotencyKey, 'deposit:0xabc:0');
      assert.match(error.message, /^the ledger refused deposit:0xabc:0: /);
      assert.match(error.message, why);
      return true;
    });
  }
});
