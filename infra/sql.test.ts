// run/runOne/runCount execute built queries and `sql` templates alike on any Queryable, typed by
// infra/schema.ts; withAdvisoryLock serializes work across connections.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { run, runCount, runFirst, runOne, sql, sqlBuilder, withAdvisoryLock, withTransaction } from './index.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

test('a built query and a sql template run on the pool and inside a transaction', async () => {
  const inserted = await runOne(db.pool, sqlBuilder.insertInto('users').values({ id: 'sqltest100000001', near_account_id: 'sqltest1.near' }).returning(['id', 'is_sweep_enabled', 'created_at']));
  assert.equal(inserted.id, 'sqltest100000001');
  assert.equal(inserted.is_sweep_enabled, true);
  assert.ok(inserted.created_at instanceof Date);
  // int8 comes back as BigInt (infra/db.ts), and the template's type parameter names the row.
  const counted = await runOne(db.pool, sql<{ n: bigint }>`SELECT count(*) AS n FROM users WHERE id = ${'sqltest100000001'}`);
  assert.equal(counted.n, 1n);
  const changed = await withTransaction(db.pool, (client) => runCount(client, sqlBuilder.updateTable('users').set({ is_sweep_enabled: false }).where('id', '=', 'sqltest100000001')));
  assert.equal(changed, 1);
  assert.deepEqual(await runFirst(db.pool, sqlBuilder.selectFrom('users').select('is_sweep_enabled').where('id', '=', 'sqltest100000001')), { is_sweep_enabled: false });
  assert.equal(await runFirst(db.pool, sqlBuilder.selectFrom('users').select('id').where('id', '=', 'nobody')), undefined);
  await assert.rejects(runOne(db.pool, sqlBuilder.selectFrom('users').select('id').where('id', '=', 'nobody')), /returned none/);
  // A JS array is one parameter: a PostgreSQL array for `any(…)`.
  assert.equal((await run(db.pool, sqlBuilder.selectFrom('users').select('id').where('id', '=', sql<string>`any(${['sqltest100000001', 'other']}::text[])`))).length, 1);
});

test('withAdvisoryLock runs one holder of a key at a time', async () => {
  const order: string[] = [];
  let releaseFirst = () => {};
  const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
  let firstIn = () => {};
  const firstEntered = new Promise<void>((resolve) => (firstIn = resolve));
  const first = withAdvisoryLock(db.pool, 'sql-test', async () => {
    order.push('first in');
    firstIn();
    await firstHolds;
    order.push('first out');
  });
  await firstEntered;
  const second = withAdvisoryLock(db.pool, 'sql-test', () => {
    order.push('second in');
    return Promise.resolve();
  });
  // The second waits on PostgreSQL's lock until the first lets go.
  const deadline = Date.now() + 5_000;
  let waiting = 0n;
  while (waiting === 0n && Date.now() < deadline) {
    waiting = (await runOne(db.pool, sql<{ n: bigint }>`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).n;
  }
  assert.equal(waiting, 1n, 'the second holder waits for the lock');
  assert.deepEqual(order, ['first in']);
  releaseFirst();
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first in', 'first out', 'second in']);
});
