// /metrics as a scraper reads it: the journal's head comes from the database (every process's
// writes), while the writer counters count only what this process did, and say so.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { createApp } from './index.ts';

let db: TestDatabase;
let apiWriter: LedgerWriter;

before(async () => {
  db = await createTestDatabase();
  apiWriter = new LedgerWriter({ pool: db.pool });
});
after(async () => {
  await apiWriter.close();
  await db.drop();
});

const sample = (text: string, name: string): bigint => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is exported`);
  return BigInt(line.slice(name.length + 1));
};

test('the journal head gauge follows the database, not this process\'s writer', async () => {
  const app = createApp({ pool: db.pool, writer: apiWriter, logger: silentLogger });
  const before = sample(await (await app.request('/metrics')).text(), 'coffer_journal_head_sequence');

  // Another process's writer (the workers', an indexer's): this API process never sees its counters.
  const elsewhere = new LedgerWriter({ pool: db.pool });
  for (let i = 0; i < 3; i += 1) {
    await elsewhere.append({ kind: 'deposit', idempotencyKey: `metrics-${i}`, postings: [{ source: 'world:near', destination: 'users:1:near', asset: 'NEAR', amount: 5n }] });
  }
  await elsewhere.close();

  const text = await (await app.request('/metrics')).text();
  const { rows } = await db.pool.query<{ head: string }>('SELECT max(id)::text AS head FROM journal_entries');
  const head = sample(text, 'coffer_journal_head_sequence');
  assert.equal(head, BigInt(rows[0]!.head));
  assert.ok(head >= before + 3n, `the head moved by the three entries (${before} → ${head})`);
  assert.equal(sample(text, 'coffer_ledger_writer_entries_total'), 0n, 'the API process wrote nothing itself');
});

test('every counter says what it counts: this process, since it started', async () => {
  const app = createApp({ pool: db.pool, writer: apiWriter, logger: silentLogger });
  const text = await (await app.request('/metrics')).text();
  const counters = [...text.matchAll(/^# TYPE (\S+) counter$/gm)].map((m) => m[1]!);
  assert.ok(counters.length >= 5, `counters found: ${counters.join(', ')}`);
  for (const name of counters) {
    const help = new RegExp(`^# HELP ${name} (.*)$`, 'm').exec(text)?.[1] ?? '';
    assert.match(help, /this API process.*since it started/, `${name}'s HELP says it counts per process`);
  }
});
