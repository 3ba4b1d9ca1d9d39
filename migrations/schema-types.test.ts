// infra/schema.ts is exactly what the migrated schema generates: a migration that adds, renames
// or retypes a column without regenerating fails here (UPDATE_SCHEMA_TYPES=1 rewrites the file).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { generateSchemaTypes, schemaTypesFile } from './schema-types.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

test('infra/schema.ts equals the types generated from the migrated database', async () => {
  const generated = await generateSchemaTypes(db.pool);
  assert.match(generated, /export interface JournalEntriesTable \{/, 'the ledger tables are there');
  if (process.env.UPDATE_SCHEMA_TYPES === '1') await writeFile(schemaTypesFile, generated);
  const committed = await readFile(schemaTypesFile, 'utf8');
  assert.equal(committed, generated, 'infra/schema.ts is stale: a migration changed the schema (rerun with UPDATE_SCHEMA_TYPES=1)');
});

test('a renamed column changes the generated types', async () => {
  await db.pool.query('ALTER TABLE users RENAME COLUMN created_at TO registered_at');
  try {
    const generated = await generateSchemaTypes(db.pool);
    assert.match(generated, /export interface UsersTable \{[^}]*registered_at:/);
    assert.doesNotMatch(generated, /export interface UsersTable \{[^}]*created_at:/);
  } finally {
    await db.pool.query('ALTER TABLE users RENAME COLUMN registered_at TO created_at');
  }
});
