// Each table has one owning room (issue #18 §2): no room's product code names a table another
// room owns, in SQL or in a kysely call. The allow-list holds only what is still to move — each
// entry says where to; it may shrink, never grow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crossRoomMentions, tableMentions, tableOwners } from './table-owners.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** `file → tables it may still name though another room owns them`. */
// Empty since issue #18's last reads moved behind their owners' doors; it may never grow again.
const stillToMove: Record<string, string[]> = {};

function productFiles(): string[] {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], { cwd: root, encoding: 'utf8' }).trim().split('\n');
  return files.filter((file) => file.includes('/') && !/\.test\.ts$|\.bench\.ts$|^testing\/|^migrations\/|^node_modules\//.test(file));
}

test('no room names a table another room owns', () => {
  const found: string[] = [];
  for (const file of productFiles()) {
    const allowed = new Set(stillToMove[file] ?? []);
    for (const mention of crossRoomMentions(file, readFileSync(`${root}/${file}`, 'utf8'))) {
      if (!allowed.has(mention.table)) found.push(`${file}:${mention.line} names ${mention.table}, owned by ${mention.owner}/ (read it through ${mention.owner}/index.ts)`);
    }
  }
  assert.deepEqual(found, []);
});

test('the allow-list only names what is still there (it shrinks as reads move)', () => {
  const stale: string[] = [];
  for (const [file, tables] of Object.entries(stillToMove)) {
    const named = new Set<string>(crossRoomMentions(file, readFileSync(`${root}/${file}`, 'utf8')).map((mention) => mention.table));
    for (const table of tables) if (!named.has(table)) stale.push(`${file}: ${table}`);
  }
  assert.deepEqual(stale, []);
});

test('the scanner finds tables in SQL text and in kysely calls, not in comments', () => {
  const source = `
    // a comment that reads from users is prose
    const a = await db.query('SELECT x FROM balances b JOIN accounts a ON a.id = b.account_id');
    const b = sql\`INSERT INTO outbox (queue) SELECT q FROM unnest(\${qs}::text[])\`;
    const c = sqlBuilder.selectFrom('deposits as d').innerJoin('assets as s', 's.id', 'd.asset_id');
    const d = sqlBuilder.updateTable('wallets').set({ frozen_at: null });
    const e = sqlBuilder.deleteFrom(['sweeps']);
    const f = 'update the user, from a queue'; // names no table
  `;
  assert.deepEqual(
    tableMentions('x.ts', source).map((m) => `${m.line}:${m.table}`),
    ['3:balances', '3:accounts', '4:outbox', '5:assets', '5:deposits', '6:wallets', '7:sweeps'],
  );
});

test("a room that reads another room's table fails the check; its own tables pass", () => {
  // A deliberate violation: credits/ reading users/' table, as credits.ts did before it read users' door.
  const crossing = crossRoomMentions('credits/example.ts', "await pool.query('SELECT is_sweep_enabled FROM users WHERE id = $1', [id]);");
  assert.deepEqual(crossing.map((m) => [m.file, m.table, m.owner]), [['credits/example.ts', 'users', 'users']]);
  assert.deepEqual(crossRoomMentions('users/example.ts', "sqlBuilder.selectFrom('users').select('id')"), []);
});

test('every table of the schema has an owning room that exists', () => {
  const rooms = new Set(readFileSync(`${root}/eslint.config.js`, 'utf8').match(/const rooms = \[([^\]]*)\]/)?.[1]?.match(/'([a-z-]+)'/g)?.map((r) => r.slice(1, -1)));
  for (const [table, owner] of Object.entries(tableOwners)) assert.ok(rooms.has(owner), `${table} is owned by ${owner}, which is not a room`);
});
