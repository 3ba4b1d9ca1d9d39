// Configuration from files (`<NAME>_FILE`, the Docker-secret convention docker-compose.yml uses).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configVariables, loadConfig } from './config.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('configuration from files', () => {
  test('<NAME>_FILE gives the value from the file, without its trailing newline', async () => {
    const file = join(dir, 'database-url');
    await writeFile(file, 'postgres://coffer:s3cret@postgres:5432/coffer\n', { mode: 0o600 });
    const config = loadConfig({ DATABASE_URL_FILE: file, PORT: '4000' });
    assert.equal(config.DATABASE_URL, 'postgres://coffer:s3cret@postgres:5432/coffer');
    assert.equal(config.PORT, 4000);
  });

  test('a value from a file is validated like any other', async () => {
    const file = join(dir, 'bad-redis-url');
    await writeFile(file, 'not-a-url-hunter2');
    assert.throws(() => loadConfig({ REDIS_URL_FILE: file }), (error: unknown) => error instanceof ConfigError && /REDIS_URL: must look like/.test(error.message) && !error.message.includes('hunter2'));
  });

  test('both forms at once, or a file that cannot be read, is refused with the variable and path named, never the content', async () => {
    const file = join(dir, 'passphrase');
    await writeFile(file, 'hunter2');
    assert.throws(() => loadConfig({ COFFER_KEYSTORE_PASSPHRASE: 'x', COFFER_KEYSTORE_PASSPHRASE_FILE: file }), /COFFER_KEYSTORE_PASSPHRASE: set either/);
    const missing = join(dir, 'nowhere');
    assert.throws(() => loadConfig({ DATABASE_URL_FILE: missing }), (error: unknown) => error instanceof ConfigError && error.message.includes(`DATABASE_URL_FILE: cannot read ${missing} (ENOENT)`));
  });

  test('the list of known variables is the schema, keystore passphrase included', () => {
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'EVM_RPC_URL', 'COFFER_KEYSTORE_PASSPHRASE', 'HERMES_URL']) assert.ok(configVariables.includes(name), name);
    assert.ok(!configVariables.includes('DATABASE_URL_FILE'), 'the _FILE forms are a convention, not schema entries');
  });
});
