import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../../testing/index.ts';
import { LedgerWriter } from '../writer.ts';
import { ProjectionFollower, accountVolumes, balancesProjection, catchUp, replayProjection } from './index.ts';

let db: TestDatabase;
let writer: LedgerWriter;

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  await writer.appendMany(
    Array.from({ length: 50 }, (_, i) => ({
      kind: 'deposit',
      idempotencyKey: `v${i}`,
      postings: [{ source: 'world:bitcoin', destination: `custody:bitcoin:bcrt1q${i % 5}`, asset: 'BTC', amount: BigInt(1_000 + i) }],
    })),
  );
});
after(async () => {
  await writer.close();
  await db.drop();
});

const volume = async (account: string) =>
  (
    await db.pool.query<{ input: string; output: string; postings_count: bigint }>(
      `SELECT input::text, output::text, postings_count FROM account_volumes v JOIN accounts a ON a.id = v.account_id WHERE a.path = $1`,
      [account],
    )
  ).rows[0];

describe('projections', () => {
  test('a follower catches up from its checkpoint and follows new entries', async () => {
    const follower = new ProjectionFollower({ pool: db.pool, pollIntervalMs: 50 });
    await follower.start();
    await follower.settle();
    assert.deepEqual(await volume('world:bitcoin'), { input: '0', output: String(50 * 1_000 + (49 * 50) / 2), postings_count: 50n });
    await writer.append({ kind: 'sweep', idempotencyKey: 'v-sweep', postings: [{ source: 'custody:bitcoin:bcrt1q0', destination: 'treasury:bitcoin', asset: 'BTC', amount: 500n }] });
    await follower.settle();
    await follower.settle();
    assert.equal((await volume('custody:bitcoin:bcrt1q0'))?.output, '500');
    await follower.stop();
    const { rows } = await db.pool.query<{ last_entry_id: bigint }>(`SELECT last_entry_id FROM projection_checkpoints WHERE name = 'account_volumes'`);
    assert.equal(rows[0]?.last_entry_id, 51n);
  });

  test('replay rebuilds into a shadow table, reports no difference when live is right', async () => {
    await catchUp(db.pool, accountVolumes);
    const progress: bigint[] = [];
    const report = await replayProjection(db.pool, accountVolumes, { chunkEntries: 10, onProgress: (done) => progress.push(done) });
    assert.deepEqual([report.diff.onlyLive, report.diff.onlyReplay, report.diff.different], [0, 0, 0]);
    assert.ok(progress.length >= 5, 'progress is reported per chunk');
    const balances = await replayProjection(db.pool, balancesProjection);
    assert.equal(balances.diff.different + balances.diff.onlyLive + balances.diff.onlyReplay, 0);
  });

  test('a damaged projection shows up in the diff and is repaired by a swap', async () => {
    await db.pool.query(`UPDATE account_volumes SET input = input + 7 WHERE account_id = (SELECT id FROM accounts WHERE path = 'treasury:bitcoin')`);
    await db.pool.query(`DELETE FROM account_volumes WHERE account_id = (SELECT id FROM accounts WHERE path = 'custody:bitcoin:bcrt1q1')`);
    const report = await replayProjection(db.pool, accountVolumes, { swap: true });
    assert.equal(report.diff.different, 1);
    assert.equal(report.diff.onlyReplay, 1);
    assert.ok(report.diff.sample.some((row) => row.key === 'treasury:bitcoin BTC' && row.live?.input === '507' && row.replay?.input === '500'));
    assert.equal(report.swapped, true);
    assert.equal((await volume('treasury:bitcoin'))?.input, '500');
    const after = await replayProjection(db.pool, accountVolumes);
    assert.equal(after.diff.different + after.diff.onlyLive + after.diff.onlyReplay, 0);
  });

  test('balances cannot be swapped: they are maintained in the append transaction', async () => {
    await assert.rejects(replayProjection(db.pool, balancesProjection, { swap: true }), /cannot be swapped/);
  });
});
