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
} from 'kysely';
import type { Queryable } from './db.ts';
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kysely's own constraint on InferResult
type Query = Compilable<any>;
type Row<Q extends Query> = InferResult<Q> extends (infer R)[] ? R : never;

/** Every row the query returns, typed by the schema. */
export async function run<Q extends Query>(target: Queryable, query: Q): Promise<Row<Q>[]> {
  const compiled = query.compile();
  const result = await target.query(compiled.sql, compiled.parameters as unknown[]);
  return result.rows as Row<Q>[];
}

/** The first row, or undefined when there is none. */
export async function runFirst<Q extends Query>(target: Queryable, query: Q): Promise<Row<Q> | undefined> {
  return (await run(target, query))[0];
}

/** How many rows an UPDATE or DELETE without RETURNING touched. */
export async function runCount(target: Queryable, query: Query): Promise<number> {
  const compiled = query.compile();
  const result = await target.query(compiled.sql, compiled.parameters as unknown[]);
  return result.rowCount ?? 0;
}
