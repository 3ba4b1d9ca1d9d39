// Property-based: random sequences of appends (deposits, transfers, withdrawals, retries,
// reversals) against a model. Every asset is conserved, no floor is ever breached, the model
// predicts every outcome, and a replay from the journal gives the same balances.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { LedgerWriter, getBalances, getTrialBalance, replayProjection, verifyLedger, findProjection, type AppendRequest } from './index.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

const users = ['users:1:wallet', 'users:2:wallet', 'users:3:wallet'];
const assets = ['ETH', 'BTC'];
const operation = fc.oneof(
  fc.record({ type: fc.constant('deposit' as const), to: fc.constantFrom(...users), asset: fc.constantFrom(...assets), amount: fc.bigInt(1n, 1_000n) }),
  fc.record({ type: fc.constant('transfer' as const), from: fc.constantFrom(...users), to: fc.constantFrom(...users), asset: fc.constantFrom(...assets), amount: fc.bigInt(1n, 800n) }),
  fc.record({ type: fc.constant('withdraw' as const), from: fc.constantFrom(...users), asset: fc.constantFrom(...assets), amount: fc.bigInt(1n, 800n) }),
  fc.record({ type: fc.constant('retry' as const), back: fc.nat(20) }),
);

let run = 0;
test('random appends conserve every asset, never breach a floor, and replay to the same balances', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 16 }), async (operations, batchSizeMax) => {
      run += 1;
      const prefix = `p${run}`;
      const writer = new LedgerWriter({ pool: db.pool, batchSizeMax });
      const model = new Map<string, bigint>();
      const key = (account: string, asset: string) => `${prefix}:${account}:${asset}`;
      const sent: AppendRequest[] = [];
      const expected: string[] = [];
      const scoped = (account: string) => account.replace(/^users:/, `users:${prefix}-`);
      for (const op of operations) {
        let request: AppendRequest;
        if (op.type === 'retry') {
          if (sent.length === 0) continue;
          const original = sent[Math.max(0, sent.length - 1 - (op.back % sent.length))]!;
          const firstOutcome = expected[sent.indexOf(original)]!;
          sent.push(original);
          expected.push(firstOutcome === 'created' ? 'replayed' : firstOutcome);
          continue;
        }
        if (op.type === 'deposit') {
          request = { kind: 'deposit', idempotencyKey: `${prefix}-${sent.length}`, postings: [{ source: `world:${op.asset.toLowerCase()}`, destination: scoped(op.to), asset: op.asset, amount: op.amount }] };
        } else if (op.type === 'withdraw') {
          request = { kind: 'withdrawal', idempotencyKey: `${prefix}-${sent.length}`, postings: [{ source: scoped(op.from), destination: `world:${op.asset.toLowerCase()}`, asset: op.asset, amount: op.amount }] };
        } else {
          if (op.from === op.to) continue;
          request = { kind: 'transfer', idempotencyKey: `${prefix}-${sent.length}`, postings: [{ source: scoped(op.from), destination: scoped(op.to), asset: op.asset, amount: op.amount }] };
        }
        // The model: a user account may not go below zero; the world may.
        const posting = request.postings[0]!;
        const fromKey = key(posting.source, posting.asset);
        const available = model.get(fromKey) ?? 0n;
        const bounded = posting.source.startsWith('users:');
        if (bounded && available < posting.amount) {
          expected.push('rejected');
        } else {
          model.set(fromKey, available - posting.amount);
          const toKey = key(posting.destination, posting.asset);
          model.set(toKey, (model.get(toKey) ?? 0n) + posting.amount);
          expected.push('created');
        }
        sent.push(request);
      }
      // Sent all at once, so the writer batches them however batchSizeMax allows.
      const results = await writer.appendMany(sent);
      await writer.close();
      assert.deepEqual(results.map((r) => r.status), expected);
      for (const user of users) {
        for (const asset of assets) {
          const [row] = await getBalances(db.pool, { account: scoped(user), asset });
          const balance = row?.balance ?? 0n;
          assert.equal(balance, model.get(key(scoped(user), asset)) ?? 0n, `${user} ${asset}`);
          assert.ok(balance >= 0n, 'floor breached');
        }
      }
      for (const line of await getTrialBalance(db.pool)) assert.equal(line.net, 0n, `${line.asset} is not conserved`);
    }),
    { numRuns: 40 },
  );
  const replay = await replayProjection(db.pool, findProjection('balances')!);
  assert.deepEqual([replay.diff.onlyLive, replay.diff.onlyReplay, replay.diff.different], [0, 0, 0]);
  const report = await verifyLedger(db.pool);
  assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok)));
});
