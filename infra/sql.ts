// Typed queries (issue #18): kysely builds and types every query outside the ledger writer's
// set-based hot path, against infra/schema.ts (generated from the migrated schema). kysely is
// used as a builder only: `run` compiles a query and executes it on whatever Queryable the caller
// holds — the pool, or a client inside `withTransaction` — so transactions stay as they are and
// a typed query joins one like any other statement.
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type Compilable,
  type InferResult,
  type RawBuilder,
  sql,
} from 'kysely';

export { sql };
import type { Pool, PoolClient, Queryable } from './db.ts';
import type { Database } from './schema.ts';

/** The query builder for coffer's schema. It cannot execute anything itself; pass its queries to `run`. */
export const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new PostgresIntrospector(kysely),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/**
 * A built query, or a raw statement written with kysely's `sql` template (`sql<Row>\`…\``) where
 * a set-based statement says more than the builder could; the template's type parameter is the
 * row it returns.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kysely's own constraint on InferResult
type Query = Compilable<any> | RawBuilder<unknown>;
type Row<Q extends Query> = Q extends RawBuilder<infer R> ? R : Q extends Compilable<infer O> ? (InferResult<Compilable<O>> extends (infer R)[] ? R : never) : never;

async function execute(target: Queryable, query: Query) {
  const compiled = 'isRawBuilder' in query ? query.compile(db) : query.compile();
  return target.query(compiled.sql, compiled.parameters as unknown[]);
}

/** Every row the query returns, typed by the schema. */
export async function run<Q extends Query>(target: Queryable, query: Q): Promise<Row<Q>[]> {
  return (await execute(target, query)).rows as Row<Q>[];
}

/** The first row, or undefined when there is none. */
export async function runFirst<Q extends Query>(target: Queryable, query: Q): Promise<Row<Q> | undefined> {
  return (await run(target, query))[0];
}

/** The row of a statement that always returns one (INSERT … RETURNING, an aggregate); throws when it returned none. */
export async function runOne<Q extends Query>(target: Queryable, query: Q): Promise<Row<Q>> {
  const [row] = await run(target, query);
  if (row === undefined) throw new Error('a statement that returns one row returned none');
  return row;
}

/** How many rows a statement without RETURNING touched (UPDATE, DELETE, INSERT … ON CONFLICT DO NOTHING). */
export async function runCount(target: Queryable, query: Query): Promise<number> {
  return (await execute(target, query)).rowCount ?? 0;
}

/**
 * Runs `work` on a connection holding the session advisory lock named `key` (waiting for it),
 * so that work on one thing (an address's nonce, a chain's coins) is serialized across workers.
 */
export async function withAdvisoryLock<T>(pool: Pool, key: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await run(client, sql`SELECT pg_advisory_lock(hashtext(${key}))`);
    return await work(client);
  } finally {
    await run(client, sql`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
    client.release();
  }
}

/** Resolves when the database answers a trivial statement (the API's readiness check); rejects with the driver's error otherwise. */
export async function pingDatabase(db: Queryable): Promise<void> {
  await run(db, sql`SELECT 1`);
}
