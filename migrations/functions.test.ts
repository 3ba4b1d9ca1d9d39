// Every ledger function's live definition is readable in migrations/functions/<name>.sql, and
// equal to what the migrated database holds. UPDATE_FUNCTIONS=1 rewrites the files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { functionFile, functionsDirectory, liveFunctionDefinitions } from './functions.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

test('migrations/functions/ holds exactly the migrated functions, each as the database defines it', async () => {
  const live = await liveFunctionDefinitions(db.pool);
  assert.ok(live.size >= 5, `the ledger defines its functions (found ${[...live.keys()].join(', ')})`);
  if (process.env.UPDATE_FUNCTIONS === '1') {
    for (const file of await readdir(functionsDirectory)) if (file.endsWith('.sql')) await rm(new URL(file, functionsDirectory));
    for (const [name, definition] of live) await writeFile(new URL(`${name}.sql`, functionsDirectory), functionFile(name, definition));
  }
  const files = (await readdir(functionsDirectory)).filter((file) => file.endsWith('.sql')).sort();
  assert.deepEqual(files, [...live.keys()].map((name) => `${name}.sql`).sort(), 'one file per function, no stale files');
  for (const [name, definition] of live) {
    const text = await readFile(new URL(`${name}.sql`, functionsDirectory), 'utf8');
    assert.equal(text, functionFile(name, definition), `migrations/functions/${name}.sql differs from the database: a migration changed it (rerun with UPDATE_FUNCTIONS=1)`);
  }
});
