// Every invariant attacked directly in SQL, bypassing the writer. PostgreSQL must refuse each
// attack by itself; and where a superuser disables the fences, `verify` must notice.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { pg } from '../infra/index.ts';
import { LedgerWriter, verifyLedger } from './index.ts';

let db: TestDatabase;

before(async () => {
  db = await createTestDatabase();
  const writer = new LedgerWriter({ pool: db.pool });
  await writer.appendMany([
    { kind: 'deposit', idempotencyKey: 'seed-1', postings: [{ source: 'world:ethereum', destination: 'custody:ethereum:0xaa', asset: 'ETH', amount: 500n }] },
    { kind: 'deposit', idempotencyKey: 'seed-2', postings: [{ source: 'world:ethereum', destination: 'custody:ethereum:0xbb', asset: 'ETH', amount: 300n }], metadata: { note: 'second' } },
  ]);
  await writer.append({ kind: 'sweep', idempotencyKey: 'seed-3', postings: [{ source: 'custody:ethereum:0xaa', destination: 'treasury:ethereum', asset: 'ETH', amount: 200n }] });
  await writer.close();
});
after(() => db.drop());

/** Runs SQL in its own transaction on its own connection and returns the error it raised. */
async function attempt(sql: string, setup: string[] = []): Promise<Error & { code?: string }> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const statement of setup) await client.query(statement);
    await client.query(sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    return error as Error & { code?: string };
  } finally {
    await client.end();
  }
  throw new Error(`the database accepted: ${sql}`);
}

const nextIds = async () => {
  const { rows } = await db.pool.query<{ entry: bigint; seal: bigint; hash: string }>(
    `SELECT (SELECT max(id) + 1 FROM journal_entries) AS entry, (SELECT max(id) + 1 FROM ledger_seals) AS seal,
            (SELECT encode(hash, 'hex') FROM ledger_seals ORDER BY id DESC LIMIT 1) AS hash`,
  );
  return rows[0]!;
};

describe('PostgreSQL enforces the ledger invariants by itself', () => {
  test('journal entries, postings and seals cannot be updated, deleted or truncated', async () => {
    for (const sql of [
      `UPDATE journal_entries SET kind = 'forged'`,
      `DELETE FROM journal_entries WHERE id = 1`,
      `TRUNCATE journal_entries CASCADE`,
      `UPDATE postings SET amount = amount + 1`,
      `DELETE FROM postings`,
      `TRUNCATE postings`,
      `UPDATE ledger_seals SET hash = previous_hash`,
      `DELETE FROM rejections`,
      `UPDATE assets SET scale = 2 WHERE code = 'ETH'`,
      `UPDATE accounts SET path = 'treasury:stolen'`,
    ]) {
      const error = await attempt(sql);
      assert.match(error.message, /append-only/, sql);
    }
  });

  test('a balance cannot be written directly', async () => {
    const error = await attempt(`UPDATE balances SET balance = balance + 1000`);
    assert.match(error.message, /projection of postings/);
    assert.match((await attempt(`DELETE FROM balances`)).message, /projection of postings/);
  });

  test('the application role has no UPDATE, DELETE or TRUNCATE privilege at all', async () => {
    for (const sql of [`UPDATE journal_entries SET kind = 'x'`, `DELETE FROM postings`, `TRUNCATE ledger_seals`, `UPDATE balances SET balance = 0`]) {
      const error = await attempt(sql, ['SET ROLE coffer_app']);
      assert.equal(error.code, '42501', `${sql}: ${error.message}`);
    }
  });

  test('an entry without postings is refused at commit', async () => {
    const { entry, seal, hash } = await nextIds();
    const error = await attempt(
      `WITH e AS (INSERT INTO journal_entries (id, kind, idempotency_key, request_hash, effective_at)
                  VALUES (${entry}, 'forged', 'attack-empty', '\\x${'00'.repeat(32)}', now()))
       INSERT INTO ledger_seals (id, first_entry_id, last_entry_id, encoding_version, previous_hash, hash)
         VALUES (${seal}, ${entry}, ${entry}, 1, '\\x${hash}', '\\x${'ab'.repeat(32)}')`,
    );
    assert.match(error.message, /has no postings/);
  });

  test('postings that do not balance are refused: zero, negative, or to the same account', async () => {
    for (const [amount, destination] of [['0', 3], ['-5', 3], ['5', 1]] as const) {
      const error = await attempt(`INSERT INTO postings VALUES (1, 9, 1, 1, ${destination}, ${amount})`);
      assert.equal(error.code, '23514', error.message);
    }
  });

  test('an entry outside the hash chain is refused', async () => {
    const { entry } = await nextIds();
    const error = await attempt(
      `INSERT INTO journal_entries (id, kind, idempotency_key, request_hash, effective_at) VALUES (${entry}, 'forged', 'attack-unsealed', '\\x${'00'.repeat(32)}', now())`,
    );
    assert.match(error.message, /not covered by a seal/);
  });

  test('the kind CHECK admits exactly lower-case dotted words of 1 to 64 characters', async () => {
    const { entry } = await nextIds();
    const insert = (kind: string) =>
      attempt(`INSERT INTO journal_entries (id, kind, idempotency_key, request_hash, effective_at)
               VALUES (${entry}, '${kind}', 'attack-kind', '\\x${'00'.repeat(32)}', now())`);
    // Admitted by the CHECK: the insert gets as far as the commit, where the missing seal stops it.
    for (const kind of ['a', 'deposit.pending', 'x_9.y', 'a' + 'b'.repeat(63)]) {
      const error = await insert(kind);
      assert.match(error.message, /not covered by a seal/, kind);
    }
    for (const kind of ['', 'a' + 'b'.repeat(64), 'Deposit', '9lives', '_x', '.x', 'a-b', 'a b', 'dépôt', 'a\n']) {
      const error = (await insert(kind.replaceAll("'", "''"))) as Error & { code?: string; constraint?: string };
      assert.equal(error.code, '23514', JSON.stringify(kind));
      assert.equal(error.constraint, 'journal_entries_kind_check', JSON.stringify(kind));
    }
  });

  test('a floor breach is refused even when written by hand, seal and all', async () => {
    const { entry, seal, hash } = await nextIds();
    const { rows } = await db.pool.query<{ id: bigint; path: string }>(`SELECT id, path FROM accounts WHERE path IN ('custody:ethereum:0xbb', 'treasury:ethereum')`);
    const id = (path: string) => rows.find((row) => row.path === path)!.id;
    const error = await attempt(
      `WITH e AS (INSERT INTO journal_entries (id, kind, idempotency_key, request_hash, effective_at)
                  VALUES (${entry}, 'forged', 'attack-overdraw', '\\x${'00'.repeat(32)}', now())),
            s AS (INSERT INTO ledger_seals (id, first_entry_id, last_entry_id, encoding_version, previous_hash, hash)
                  VALUES (${seal}, ${entry}, ${entry}, 1, '\\x${hash}', '\\x${'cd'.repeat(32)}'))
       INSERT INTO postings VALUES (${entry}, 0, 1, ${id('custody:ethereum:0xbb')}, ${id('treasury:ethereum')}, 301)`,
    );
    assert.equal(error.code, '23514');
    assert.match(error.message, /below its floor/);
  });

  test('a dip below a floor inside one statement is refused even when a later entry refills it', async () => {
    const { entry, seal, hash } = await nextIds();
    const { rows } = await db.pool.query<{ id: bigint; path: string }>(`SELECT id, path FROM accounts WHERE path IN ('custody:ethereum:0xbb', 'treasury:ethereum', 'world:ethereum')`);
    const id = (path: string) => rows.find((row) => row.path === path)!.id;
    const second = BigInt(entry) + 1n;
    // 0xbb holds 300: entry 1 takes 301 out, entry 2 brings 500 in. The end balance (499) is
    // fine, the balance after entry 1 (-1) is not.
    const error = await attempt(
      `WITH e AS (INSERT INTO journal_entries (id, kind, idempotency_key, request_hash, effective_at)
                  VALUES (${entry}, 'forged', 'attack-dip-1', '\\x${'00'.repeat(32)}', now()),
                         (${second}, 'forged', 'attack-dip-2', '\\x${'00'.repeat(32)}', now())),
            s AS (INSERT INTO ledger_seals (id, first_entry_id, last_entry_id, encoding_version, previous_hash, hash)
                  VALUES (${seal}, ${entry}, ${second}, 1, '\\x${hash}', '\\x${'ce'.repeat(32)}'))
       INSERT INTO postings VALUES (${entry}, 0, 1, ${id('custody:ethereum:0xbb')}, ${id('treasury:ethereum')}, 301),
                                   (${second}, 0, 1, ${id('world:ethereum')}, ${id('custody:ethereum:0xbb')}, 500)`,
    );
    assert.equal(error.code, '23514');
    assert.match(error.message, new RegExp(`journal entry ${entry} would take custody:ethereum:0xbb below its floor`));
  });

  test('a reversal of an entry that does not exist is refused', async () => {
    const { entry, seal, hash } = await nextIds();
    const missing = await attempt(
      `WITH e AS (INSERT INTO journal_entries (id, kind, idempotency_key, request_hash, effective_at, reverses)
                  VALUES (${entry}, 'forged', 'attack-reverse-missing', '\\x${'00'.repeat(32)}', now(), 0)),
            s AS (INSERT INTO ledger_seals (id, first_entry_id, last_entry_id, encoding_version, previous_hash, hash)
                  VALUES (${seal}, ${entry}, ${entry}, 1, '\\x${hash}', '\\x${'d1'.repeat(32)}'))
       INSERT INTO postings VALUES (${entry}, 0, 1, 1, 2, 1)`,
    );
    assert.equal(missing.code, '23503');
    assert.match(missing.message, /reverses entry 0 which does not exist/);
  });

  test('postings written by hand to a new account get a balance row and move it', async () => {
    const { entry, seal, hash } = await nextIds();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string }>(`INSERT INTO accounts (path) VALUES ('users:by-hand:wallet') RETURNING id::text`);
      const world = await client.query<{ id: string }>(`SELECT id::text FROM accounts WHERE path = 'world:ethereum'`);
      await client.query(
        `WITH e AS (INSERT INTO journal_entries (id, kind, idempotency_key, request_hash, effective_at)
                    VALUES (${entry}, 'forged', 'by-hand', '\\x${'00'.repeat(32)}', now())),
              s AS (INSERT INTO ledger_seals (id, first_entry_id, last_entry_id, encoding_version, previous_hash, hash)
                    VALUES (${seal}, ${entry}, ${entry}, 1, '\\x${hash}', '\\x${'d2'.repeat(32)}'))
         INSERT INTO postings VALUES (${entry}, 0, 1, ${world.rows[0]!.id}, ${rows[0]!.id}, 42)`,
      );
      const balance = await client.query<{ balance: string; postings_count: string }>(
        `SELECT balance::text, postings_count::text FROM balances WHERE account_id = ${rows[0]!.id} AND asset_id = 1`,
      );
      assert.deepEqual(balance.rows[0], { balance: '42', postings_count: '1' });
    } finally {
      // A hand-written seal hash would fail verify for the tests after this one.
      await client.query('ROLLBACK');
      await client.end();
    }
  });

  test('an idempotency key names an entry or a rejection, never both', async () => {
    const asRejection = await attempt(`INSERT INTO rejections (idempotency_key, request_hash, code) VALUES ('seed-1', '\\x${'00'.repeat(32)}', 'floor_breach')`);
    assert.equal(asRejection.code, '23505');
    assert.match(asRejection.message, /seed-1 already names a journal entry/);

    const { entry, seal, hash } = await nextIds();
    const error = await attempt(
      `WITH e AS (INSERT INTO journal_entries (id, kind, idempotency_key, request_hash, effective_at)
                  VALUES (${entry}, 'forged', 'attack-was-rejected', '\\x${'00'.repeat(32)}', now())),
            s AS (INSERT INTO ledger_seals (id, first_entry_id, last_entry_id, encoding_version, previous_hash, hash)
                  VALUES (${seal}, ${entry}, ${entry}, 1, '\\x${hash}', '\\x${'cf'.repeat(32)}'))
       INSERT INTO postings VALUES (${entry}, 0, 1, 1, 2, 1)`,
      [`INSERT INTO rejections (idempotency_key, request_hash, code) VALUES ('attack-was-rejected', '\\x${'00'.repeat(32)}', 'floor_breach')`],
    );
    assert.equal(error.code, '23505');
    assert.match(error.message, /attack-was-rejected already names a rejected request/);
  });

  test('an entry cannot be reversed twice, and a seal cannot fork the chain', async () => {
    const error = await attempt(`INSERT INTO ledger_seals (id, first_entry_id, last_entry_id, encoding_version, previous_hash, hash)
      VALUES (99, 1000, 1000, 1, '\\x${'00'.repeat(32)}', '\\x${'ef'.repeat(32)}')`);
    assert.match(error.message, /does not extend the hash chain|covers entries/);
    const index = await db.pool.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'journal_entries_reverses'`);
    assert.match(String(index.rows[0]?.indexdef), /UNIQUE/);
  });

  test('verify passes on the untouched ledger', async () => {
    const report = await verifyLedger(db.pool);
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((check) => !check.ok)));
    assert.equal(report.entries, 3n);
  });

  test('a superuser who disables the triggers and edits a posting is caught by verify', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      // session_replication_role = replica switches user triggers off: only a superuser can.
      await client.query(`SET session_replication_role = replica`);
      await client.query(`UPDATE postings SET amount = 250 WHERE entry_id = 2`);
      await client.query(`UPDATE journal_entries SET metadata = '{"note":"edited"}' WHERE id = 3`);
    } finally {
      await client.end();
    }
    const report = await verifyLedger(db.pool);
    assert.equal(report.ok, false);
    const chain = report.checks.find((check) => check.name === 'hash_chain')!;
    assert.equal(chain.ok, false);
    assert.equal(chain.firstBrokenEntryId, 1n, chain.message); // entries 1 and 2 were sealed together
    const balances = report.checks.find((check) => check.name === 'projection:balances')!;
    assert.equal(balances.ok, false);
    assert.match(balances.message, /custody:ethereum:0xbb/);
  });
});
