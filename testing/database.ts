// Throwaway databases for tests. The global setup migrates one template database per test
// run; every test file clones it (CREATE DATABASE … TEMPLATE is a file copy, far faster than
// migrating) and drops its clone at the end, so runs and files never share state.
import { randomBytes } from 'node:crypto';
import { migrate } from '../migrations/index.ts';
import { createPool, pg, quoteIdentifier, type Pool } from '../infra/index.ts';

export const adminUrl = process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres';
const runPrefix = 'coffer_test_';

export function serverUrl(database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl('postgres') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createTemplate(): Promise<string> {
  const name = `${runPrefix}${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_tpl`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${quoteIdentifier(name)}`));
  await migrate({ connectionString: serverUrl(name) });
  return name;
}

/**
 * Drops test databases left by runs that crashed before their teardown: their names carry the
 * run's start time, and anything older than a day cannot belong to a run still going.
 */
export async function dropStaleRuns(maxAgeMs = 24 * 3_600_000): Promise<string[]> {
  return withAdmin(async (client) => {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${runPrefix}%`]);
    const stale = rows
      .map((row) => row.datname)
      .filter((name) => {
        const startedAt = parseInt(name.slice(runPrefix.length).split('_')[0] ?? '', 36);
        return Number.isFinite(startedAt) && Date.now() - startedAt > maxAgeMs;
      });
    for (const name of stale) await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
    return stale;
  });
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`));
}

export async function dropRun(template: string): Promise<void> {
  const prefix = template.replace(/_tpl$/, '');
  await withAdmin(async (client) => {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`]);
    for (const row of rows) await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(row.datname)} WITH (FORCE)`);
  });
}

export interface TestDatabase {
  name: string;
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file. Empty (not migrated) with `{ migrated: false }`. */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const template = process.env.COFFER_TEST_TEMPLATE;
  const base = template ? template.replace(/_tpl$/, '') : `${runPrefix}adhoc`;
  const name = `${base}_${randomBytes(4).toString('hex')}`;
  const migrated = options.migrated ?? true;
  await withAdmin((client) =>
    client.query(`CREATE DATABASE ${quoteIdentifier(name)}${migrated && template ? ` TEMPLATE ${quoteIdentifier(template)}` : ''}`),
  );
  const url = serverUrl(name);
  if (migrated && !template) await migrate({ connectionString: url });
  const pool = createPool({ connectionString: url, max: 12 });
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      await dropDatabase(name);
    },
  };
}
