import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { listMigrations, migrate, MigrationError } from './index.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase({ migrated: false });
});
after(() => db.drop());

describe('coffer migrate', () => {
  test('applies every migration in order, once', async () => {
    const all = await listMigrations();
    assert.deepEqual(all.map((m) => m.version), [...all.map((m) => m.version)].sort((a, b) => a - b));
    const first = await migrate({ connectionString: db.url });
    assert.equal(first.applied.length, all.length);
    const second = await migrate({ connectionString: db.url });
    assert.deepEqual([second.applied.length, second.alreadyApplied], [0, all.length]);
    const { rows } = await db.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(rows.map((r) => r.version), all.map((m) => m.version));
  });

  test('two processes migrating at once apply each migration once', async () => {
    const other = await createTestDatabase({ migrated: false });
    try {
      const results = await Promise.all([migrate({ connectionString: other.url }), migrate({ connectionString: other.url })]);
      const total = (await listMigrations()).length;
      assert.equal(results[0].applied.length + results[1].applied.length, total);
    } finally {
      await other.drop();
    }
  });

  test('refuses an applied migration that was edited, and one numbered below the newest', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'coffer-migrations-'));
    await cp(fileURLToPath(new URL('.', import.meta.url)), directory, { recursive: true, filter: (src) => !src.endsWith('.ts') });
    await writeFile(join(directory, '0001_ledger.sql'), '-- edited\n', { flag: 'a' });
    await assert.rejects(migrate({ connectionString: db.url, directory }), (error: Error) => error instanceof MigrationError && /changed after it was applied/.test(error.message));

    const ordered = await mkdtemp(join(tmpdir(), 'coffer-migrations-'));
    await cp(fileURLToPath(new URL('.', import.meta.url)), ordered, { recursive: true, filter: (src) => !src.endsWith('.ts') });
    await writeFile(join(ordered, '0000_early.sql'), 'SELECT 1;\n');
    await assert.rejects(migrate({ connectionString: db.url, directory: ordered }), /older than the newest applied/);
  });
});
