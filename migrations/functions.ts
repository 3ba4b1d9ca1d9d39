// The ledger's PL/pgSQL functions as the migrated database holds them now. Migrations redefine a
// function by replacing it whole (0001 → 0004 → 0010 → 0011 for the postings trigger), so the
// live definition could only be read in the newest migration that touched it. migrations/
// functions/<name>.sql holds each current definition, written from the database itself, and a
// test fails when a migration changes a function without the file following.
import type { Queryable } from '../infra/index.ts';

export const functionsDirectory = new URL('./functions/', import.meta.url);

/** `name` → `pg_get_functiondef` of every function coffer's migrations define (schema public). */
export async function liveFunctionDefinitions(db: Queryable): Promise<Map<string, string>> {
  const { rows } = await db.query<{ name: string; definition: string }>(
    `SELECT p.proname AS name, pg_get_functiondef(p.oid) AS definition
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' AND p.prokind = 'f'
      ORDER BY p.proname, p.oid`,
  );
  const definitions = new Map<string, string>();
  for (const row of rows) {
    // Overloads share a file, in oid order.
    definitions.set(row.name, definitions.has(row.name) ? `${definitions.get(row.name)!}\n${row.definition}` : row.definition);
  }
  return definitions;
}

/** The file's text for a definition: a header saying where it comes from, then the definition. */
export function functionFile(name: string, definition: string): string {
  return `-- ${name}: its current definition, as the migrated database holds it (pg_get_functiondef).\n-- Generated: change it with a new migration, then run UPDATE_FUNCTIONS=1 on migrations/functions.test.ts.\n${definition.trimEnd()}\n`;
}
