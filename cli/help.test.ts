// Help as a newcomer asks for it: `coffer <command> --help` for every command in the table, short
// usage errors that point at --help, and looking at the treasury without creating anything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { runCoffer } from '../testing/cli.ts';
import { commands } from './commands/index.ts';

let db: TestDatabase;
let cwd = '';

before(async () => {
  db = await createTestDatabase();
  cwd = await mkdtemp(`${tmpdir()}/coffer-help-`);
});
after(async () => {
  await db.drop();
  await rm(cwd, { recursive: true, force: true });
});

function coffer(args: string[], env: NodeJS.ProcessEnv = {}) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, ...env };
  for (const name of ['COFFER_KEYSTORE_DIR', 'COFFER_KEYSTORE_PASSPHRASE', 'COFFER_KEYSTORE_PASSPHRASE_FILE', 'EVM_RPC_URL']) delete childEnv[name];
  return runCoffer(args, { env: childEnv, cwd });
}

test('coffer <command> --help and -h: exit 0 and that command\'s usage only, for every command', { timeout: 120_000 }, async () => {
  const names = Object.keys(commands);
  assert.ok(names.length >= 13, `the command table: ${names.join(', ')}`);
  const asked = await Promise.all(names.flatMap((name) => ['--help', '-h'].map(async (flag) => ({ name, flag, result: await coffer([name, flag]) }))));
  for (const { name, flag, result } of asked) {
    assert.equal(result.code, 0, `coffer ${name} ${flag}: ${result.stderr}`);
    assert.ok(result.stdout.includes(commands[name]!.usage), `coffer ${name} ${flag} prints its usage\n${result.stdout}`);
    for (const other of names.filter((n) => n !== name)) {
      assert.ok(!result.stdout.includes(commands[other]!.usage), `coffer ${name} ${flag} does not print ${other}'s usage`);
    }
  }
  assert.deepEqual(await readdir(cwd), [], 'asking for help creates no files');
});

test('a usage error is its reason and a hint, not the whole usage', async () => {
  const role = await coffer(['keys', 'create', '--role', 'root']);
  assert.equal(role.code, 2);
  assert.deepEqual(role.stderr.trimEnd().split('\n'), [role.stderr.split('\n')[0], "run 'coffer keys --help'"]);
  assert.match(role.stderr, /^coffer: --role must be one of/);
  const option = await coffer(['start', '--frobnicate']);
  assert.equal(option.code, 2);
  assert.match(option.stderr, /^coffer: .*--frobnicate.*\nrun 'coffer start --help'\n$/);
  const unknown = await coffer(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, `coffer: unknown command "frobnicate"\nrun 'coffer --help'\n`);
});

test('coffer treasury show on an install without a treasury: not_configured, and no file created', async () => {
  const result = await coffer(['treasury', 'show']);
  assert.equal(result.code, 0, result.stderr);
  const shown = JSON.parse(result.stdout) as { status: string; keyName: string; hint: string };
  assert.equal(shown.status, 'not_configured');
  assert.equal(shown.keyName, 'treasury-hot');
  assert.match(shown.hint, /coffer treasury create/);
  assert.deepEqual(await readdir(cwd), [], 'no keystore directory, no development passphrase file');
});
