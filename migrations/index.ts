// Applies migrations/NNNN_name.sql in order, each in its own transaction, and records them in
// schema_migrations with a checksum. Re-running is a no-op; a migration edited after it was
// applied, or a new one numbered below the newest applied, stops the run with an error.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CodedError, pg } from '../infra/index.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: Migration[];
  alreadyApplied: number;
}

const migrationErrorCodes = [
  // The release's own files are wrong (a name, a shared version): fixed in the code, not the database.
  'invalid_migration_file',
  // The database is ahead of this release (an older release started on a newer schema): run the newer release.
  'migration_file_missing',
  // A file changed after it was applied, or a new one sorts before the newest applied: renumber or revert.
  'migration_changed',
  'migration_out_of_order',
  // The SQL failed and was rolled back: nothing of it applied.
  'migration_failed',
] as const;

export class MigrationError extends CodedError<(typeof migrationErrorCodes)[number]> {
  static readonly codes = migrationErrorCodes;
  override name = 'MigrationError';
}

const migrationsDirectory = fileURLToPath(new URL('.', import.meta.url));
const fileNamePattern = /^(\d{4})_([a-z0-9_]+)\.sql$/;
// Any constant works; it only has to be the same in every process that migrates.
const migrationLockKey = 7_146_220_001;

export async function listMigrations(directory = migrationsDirectory): Promise<Migration[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const fileName of names) {
    const match = fileNamePattern.exec(fileName);
    if (!match) throw new MigrationError('invalid_migration_file', `migration file ${fileName} is not named NNNN_lower_snake.sql`);
    const sql = await readFile(`${directory}/${fileName}`, 'utf8');
    const version = Number(match[1]);
    if (migrations.some((existing) => existing.version === version)) {
      throw new MigrationError('invalid_migration_file', `two migration files share version ${match[1]}`);
    }
    migrations.push({ version, name: match[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return migrations;
}

export async function migrate(options: {
  connectionString: string;
  directory?: string;
  onApplied?: (migration: Migration) => void;
}): Promise<MigrateResult> {
  const migrations = await listMigrations(options.directory);
  const client = new pg.Client({ connectionString: options.connectionString, application_name: 'coffer-migrate' });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const appliedByVersion = new Map(rows.map((row) => [row.version, row]));
    const newestApplied = rows.at(-1)?.version ?? 0;

    for (const row of rows) {
      const file = migrations.find((migration) => migration.version === row.version);
      if (!file) {
        throw new MigrationError('migration_file_missing', `migration ${row.version} (${row.name}) is applied but its file is missing`);
      }
      if (file.checksum !== row.checksum) {
        throw new MigrationError(
          'migration_changed',
          `migration ${row.version} (${row.name}) was changed after it was applied; add a new migration instead`,
        );
      }
    }
    const pending = migrations.filter((migration) => !appliedByVersion.has(migration.version));
    const outOfOrder = pending.find((migration) => migration.version < newestApplied);
    if (outOfOrder) {
      throw new MigrationError(
        'migration_out_of_order',
        `migration ${outOfOrder.version} (${outOfOrder.name}) is older than the newest applied (${newestApplied}); renumber it`,
      );
    }

    for (const migration of pending) {
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        const reason = error instanceof Error ? error.message : String(error);
        throw new MigrationError('migration_failed', `migration ${migration.version} (${migration.name}) failed: ${reason}`, { cause: error });
      }
      options.onApplied?.(migration);
    }
    return { applied: pending, alreadyApplied: rows.length };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]).catch(() => undefined);
    await client.end();
  }
}
