// Configuration from files (`<NAME>_FILE`, the Docker-secret convention docker-compose.yml uses).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki, type TestPki } from '../testing/index.ts';
import { ConfigError, configVariables, loadConfig } from './config.ts';
import { signerTlsMaterial } from './signer-tls.ts';

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

describe('mutual TLS for the remote signer (SIGNER_TLS_*)', () => {
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki(dir);
  });

  test('none set: no TLS, nothing else changes', () => {
    const config = loadConfig({});
    assert.equal(signerTlsMaterial(config), null);
    assert.equal(config.SIGNER_TLS_PORT, 9000);
  });

  test('half a configuration is refused at load, naming what is missing and never a value', async () => {
    const keyPem = await readFile(pki.serverKey, 'utf8');
    assert.throws(
      () => loadConfig({ SIGNER_TLS_CERT: pki.serverCert, SIGNER_TLS_KEY: keyPem }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.includes('SIGNER_TLS_CLIENT_CA: mutual TLS for the remote signer needs SIGNER_TLS_CERT, SIGNER_TLS_KEY, SIGNER_TLS_CLIENT_CA together') &&
        !error.message.includes('PRIVATE KEY') &&
        !error.message.includes(pki.serverCert),
    );
    assert.throws(() => loadConfig({ SIGNER_TLS_KEY_FILE: pki.serverKey }), (error: unknown) => error instanceof ConfigError && /SIGNER_TLS_CERT, SIGNER_TLS_CLIENT_CA: .* these are missing/.test(error.message) && !error.message.includes('PRIVATE KEY'));
    assert.throws(() => loadConfig({ SIGNER_TLS_CERT: pki.serverCert, SIGNER_TLS_KEY: pki.serverKey, SIGNER_TLS_CLIENT_CA: pki.caCert, SIGNER_TLS_PORT: '3000' }), /SIGNER_TLS_PORT: must differ from PORT/);
  });

  test('paths, or the PEM itself through <NAME>_FILE, load; a key that is not the certificate\'s, or a CA that is not one, is refused without its content', async () => {
    const fromPaths = signerTlsMaterial(loadConfig({ SIGNER_TLS_CERT: pki.serverCert, SIGNER_TLS_KEY: pki.serverKey, SIGNER_TLS_CLIENT_CA: pki.caCert, SIGNER_TLS_PORT: '9443' }));
    assert.equal(fromPaths?.port, 9443);
    assert.deepEqual(fromPaths?.key, await readFile(pki.serverKey));
    const fromFiles = signerTlsMaterial(loadConfig({ SIGNER_TLS_CERT_FILE: pki.serverCert, SIGNER_TLS_KEY_FILE: pki.serverKey, SIGNER_TLS_CLIENT_CA_FILE: pki.caCert }));
    assert.equal(fromFiles?.key.toString('utf8').trimEnd(), (await readFile(pki.serverKey, 'utf8')).trimEnd());
    const strangerKey = join(dir, 'stranger.key');
    const noSecretShown = (pattern: RegExp) => (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes('PRIVATE KEY');
    assert.throws(() => signerTlsMaterial(loadConfig({ SIGNER_TLS_CERT: pki.serverCert, SIGNER_TLS_KEY: strangerKey, SIGNER_TLS_CLIENT_CA: pki.caCert })), noSecretShown(/SIGNER_TLS_KEY: is not the private key of the first certificate/));
    assert.throws(() => signerTlsMaterial(loadConfig({ SIGNER_TLS_CERT: pki.serverCert, SIGNER_TLS_KEY: pki.serverKey, SIGNER_TLS_CLIENT_CA: pki.serverCert })), noSecretShown(/SIGNER_TLS_CLIENT_CA: every certificate must be a CA certificate/));
    assert.throws(() => signerTlsMaterial(loadConfig({ SIGNER_TLS_CERT: pki.serverKey, SIGNER_TLS_KEY: pki.serverKey, SIGNER_TLS_CLIENT_CA: pki.caCert })), noSecretShown(/SIGNER_TLS_CERT: must be PEM certificates/));
    const missing = join(dir, 'no-such.pem');
    assert.throws(() => signerTlsMaterial(loadConfig({ SIGNER_TLS_CERT: pki.serverCert, SIGNER_TLS_KEY: missing, SIGNER_TLS_CLIENT_CA: pki.caCert })), noSecretShown(new RegExp(`SIGNER_TLS_KEY: cannot read ${missing} \\(ENOENT\\)`)));
  });
});
