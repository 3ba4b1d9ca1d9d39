// `npm run demo -- --ci` is the newcomer's first command; this runs it exactly so, as a child
// process against real anvil, PostgreSQL and Redis, and checks it narrates every step, ends
// with a balanced, verified ledger, exits 0, and leaves no database behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pg } from '../infra/index.ts';
import { adminUrl } from '../testing/index.ts';

const cli = fileURLToPath(new URL('./coffer.ts', import.meta.url));

test('coffer demo --ci: deposit → confirmed → priced → credited → swept, verified, exit 0', { timeout: 240_000 }, async () => {
  const child = spawn(process.execPath, [cli, 'demo', '--ci'], { env: { ...process.env, DATABASE_URL: adminUrl }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, output);
  for (const step of ['deposits seen (pending)', 'deposits confirmed', 'priced and credited', 'swept to the treasury', 'every invariant holds', 'demo: every step succeeded']) {
    assert.ok(output.includes(step), `the demo says "${step}"\n${output}`);
  }
  assert.match(output, /ETH credited at ETH\/USD [\d.]+ \(Pyth, via Hermes\)/);
  assert.match(output, /CHOCO +debits +[\d.]+ +credits +[\d.]+ +balanced/);

  const database = /fresh database (coffer_demo_\w+)/.exec(output)?.[1];
  assert.ok(database);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    assert.equal(rowCount, 0, 'the --ci run drops its database');
  } finally {
    await admin.end();
  }
});
