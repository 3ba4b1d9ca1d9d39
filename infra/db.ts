// PostgreSQL access shared by every room: one pool per process, transactions with a helper,
// and type parsing that keeps 64-bit integers exact (BigInt) and money as decimal strings.
import { userInfo } from 'node:os';
import pg from 'pg';
import { ConfigError } from './config.ts';

// A URL without a user name means "the user I am", as psql does; pg would otherwise rely on
// $USER, which services and CI shells do not always set.
process.env.PGUSER ??= userInfo().username;

// int8 (OID 20) → BigInt: journal sequences and ids must not round. numeric stays a string
// (pg's default) and is turned into BigInt at the edge of the ledger.
pg.types.setTypeParser(20, (value) => BigInt(value));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

export interface PoolOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'coffer',
    idleTimeoutMillis: 30_000,
  });
  // An idle client that loses its connection emits here; without a listener the process dies.
  pool.on('error', (error: Error & { code?: string }) => {
    // 57P01: the server closed an idle connection on purpose (shutdown, DROP DATABASE … FORCE);
    // the pool opens a new one when it needs one, so it is not an error worth a log line.
    if (error.code === '57P01') return;
    console.error(JSON.stringify({ level: 'error', msg: 'idle database connection failed', error: error.message }));
  });
  return pool;
}

export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The database named in a connection string, and the same server's maintenance database. */
export function splitDatabaseUrl(connectionString: string): { database: string; maintenanceUrl: string } {
  const url = new URL(connectionString);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError('the database URL names no database (expected postgres://host:5432/<name>)');
  url.pathname = '/postgres';
  return { database, maintenanceUrl: url.toString() };
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Creates the database if it does not exist yet, so a fresh machine needs no manual step. */
export async function ensureDatabase(connectionString: string): Promise<boolean> {
  const { database, maintenanceUrl } = splitDatabaseUrl(connectionString);
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
    } catch (error) {
      // Another process created it between our check and our CREATE: that is the same outcome.
      if ((error as { code?: string }).code !== '42P04') throw error;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Drops the database of `connectionString` if it exists, closing its connections (a throwaway database: a bench's, a demo's). */
export async function dropDatabase(connectionString: string): Promise<void> {
  const { database, maintenanceUrl } = splitDatabaseUrl(connectionString);
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * The first row of a statement that always yields one (INSERT … RETURNING, an aggregate, a row
 * locked just before); its absence is a broken invariant, named by `what`, not a non-null `!`.
 */
export function firstRow<Row>(rows: readonly Row[], what: string): Row {
  const row = rows[0];
  if (row === undefined) throw new Error(`expected a row for ${what}, and the database returned none`);
  return row;
}

export function isPgError(error: unknown, code?: string): error is pg.DatabaseError {
  return error instanceof pg.DatabaseError && (code === undefined || error.code === code);
}

export { pg };
