// The database's types for kysely, written from the migrated schema itself (issue #18): one
// interface per table, one property per column, in the column's order. The file it writes,
// infra/schema.ts, is what every typed query is checked against, so a renamed or retyped column
// breaks the typecheck instead of production. A test regenerates it from a freshly migrated
// database and fails on any difference (UPDATE_SCHEMA_TYPES=1 rewrites it).
import type { Queryable } from '../infra/index.ts';

export const schemaTypesFile = new URL('../infra/schema.ts', import.meta.url);

interface ColumnRow {
  table_name: string;
  column_name: string;
  udt_name: string;
  is_nullable: 'YES' | 'NO';
  generated: boolean;
  comment: string | null;
}

/**
 * What node-postgres hands back for each type, as infra/db.ts configures it: int8 is a BigInt
 * (ids and sequences must not round), numeric stays a decimal string (money is turned into BigInt
 * at the ledger's edge), timestamps are Dates.
 */
const typeScriptType: Record<string, string> = {
  bool: 'boolean',
  bytea: 'Buffer',
  int2: 'number',
  int4: 'number',
  int8: 'bigint',
  jsonb: 'Json',
  json: 'Json',
  numeric: 'string',
  text: 'string',
  varchar: 'string',
  uuid: 'string',
  timestamptz: 'Date',
  timestamp: 'Date',
  date: 'Date',
};

function columnType(udtName: string): string {
  if (udtName.startsWith('_')) return `${columnType(udtName.slice(1))}[]`;
  const type = typeScriptType[udtName];
  // An unmapped type fails generation rather than typing a column `unknown` without anyone noticing.
  if (!type) throw new Error(`schema-types: no TypeScript type for PostgreSQL type ${udtName}; add it to typeScriptType`);
  return type;
}

const pascal = (name: string) => name.replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());

/** The text of infra/schema.ts for the database `db` is connected to (schema public). */
export async function generateSchemaTypes(db: Queryable): Promise<string> {
  const { rows } = await db.query<ColumnRow>(
    `SELECT c.table_name, c.column_name, c.udt_name, c.is_nullable,
            (c.column_default IS NOT NULL OR c.is_identity = 'YES' OR c.is_generated = 'ALWAYS') AS generated,
            col_description(format('%I.%I', c.table_schema, c.table_name)::regclass, c.ordinal_position) AS comment
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const tables = new Map<string, ColumnRow[]>();
  for (const row of rows) tables.set(row.table_name, [...(tables.get(row.table_name) ?? []), row]);
  const lines = [
    '// Generated from the migrated schema by migrations/schema-types.ts; do not edit. After a',
    '// migration, regenerate with UPDATE_SCHEMA_TYPES=1 on migrations/schema-types.test.ts.',
    "import type { ColumnType, Generated } from 'kysely';",
    '',
    '/** A jsonb value as node-postgres parses it. */',
    'export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };',
    '',
  ];
  for (const [table, columns] of tables) {
    lines.push(`export interface ${pascal(table)}Table {`);
    for (const column of columns) {
      if (column.comment) lines.push(`  /** ${column.comment.replace(/\*\//g, '* /').replace(/\s+/g, ' ').trim()} */`);
      const nullable = column.is_nullable === 'YES' ? ' | null' : '';
      let type: string;
      if (column.udt_name === 'numeric') {
        // numeric reads as a decimal string and is written from a string or a bigint.
        const write = `string | bigint${nullable}`;
        type = `ColumnType<string${nullable}, ${column.generated ? `${write} | undefined` : write}, ${write}>`;
      } else {
        type = `${columnType(column.udt_name)}${nullable}`;
        if (column.generated) type = `Generated<${type}>`;
      }
      lines.push(`  ${column.column_name}: ${type};`);
    }
    lines.push('}', '');
  }
  lines.push('/** Every table of the migrated schema, as kysely sees it. */', 'export interface Database {');
  for (const table of tables.keys()) lines.push(`  ${table}: ${pascal(table)}Table;`);
  lines.push('}', '');
  return lines.join('\n');
}
