// The remote signer over mutual TLS (issue #25): certificates made in the test with openssl, the
// API started as `coffer start` starts it with SIGNER_TLS_*. A client with a certificate from the
// configured CA and a token signs; without a certificate, or with one from another CA, the
// handshake refuses it and nothing is signed; the token is still required on top; and the plain
// API port no longer signs at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverMessageAddress, type Hex } from 'viem';
import { signerTlsMaterial } from '../infra/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { createKeystoreSignerKey, createSigningClient, KeyMaterial, listSignerEvents, setSignerPolicy, type SignerKey } from '../remote-signer/index.ts';
import { Keystore } from '../signer/index.ts';
import { createTestDatabase, createTestPki, type TestDatabase, type TestPki } from '../testing/index.ts';
import { startApiServer } from './index.ts';

let db: TestDatabase;
let dir: string;
let pki: TestPki;
let servers: Server[] = [];
let apiPort: number;
let tlsPort: number;
let key: SignerKey;
let token: string;
/** Resolved by the TLS server's next refused handshake (`tlsClientError`), with its code: the proof the refusal came before HTTP. */
let nextRefusal: (code: string) => void = () => undefined;
const refusal = () => new Promise<string>((resolve) => (nextRefusal = resolve));

before(async () => {
  [db, dir] = await Promise.all([createTestDatabase(), mkdtemp(join(tmpdir(), 'coffer-signer-tls-'))]);
  pki = await createTestPki(dir);
  const keystore = new Keystore({ directory: join(dir, 'keys'), passphrase: 'signer-tls-test', kdf: { m: 256, t: 1, p: 1 } });
  key = await createKeystoreSignerKey(db.pool, keystore, 'batcher');
  await setSignerPolicy(db.pool, { key: 'batcher', actor: 'test', policy: { rules: [{ type: 'messages', allow: ['personal'] }] } });
  ({ token } = await createSigningClient(db.pool, { keyNames: ['batcher'], name: 'op-batcher' }));
  // Paths, as an operator sets them; port 0 picks a free one.
  const tls = signerTlsMaterial({ SIGNER_TLS_CERT: pki.serverCert, SIGNER_TLS_KEY: pki.serverKey, SIGNER_TLS_CLIENT_CA: pki.caCert, SIGNER_TLS_PORT: 0 });
  assert.ok(tls);
  const started = await startApiServer(
    { pool: db.pool, writer: new LedgerWriter({ pool: db.pool }), logger: silentLogger, remoteSigner: { ctx: { pool: db.pool, logger: silentLogger, material: new KeyMaterial({ keystore }) }, tls } },
    { port: 0 },
  );
  assert.ok(started.signerTls);
  servers = [started.server as Server, started.signerTls.server as Server];
  started.signerTls.server.on('tlsClientError', (error: NodeJS.ErrnoException) => nextRefusal(error.code ?? error.message));
  apiPort = started.port;
  tlsPort = started.signerTls.port;
});

after(async () => {
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  await Promise.all([db.drop(), rm(dir, { recursive: true, force: true })]);
});

type Answer = { status: number; body: { result?: unknown; error?: { code: number; message: string } } };

/** eth_sign over HTTPS to the signer's TLS port, presenting `identity` (or no certificate). */
function signOverTls(identity: { cert: Buffer; key: Buffer } | null, headers: Record<string, string>): Promise<Answer> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sign', params: [key.address, '0x68656c6c6f'] });
  return new Promise((resolve, reject) => {
    const call = request(
      { host: '127.0.0.1', port: tlsPort, path: '/signer', method: 'POST', ca: pki.ca, ...(identity ?? {}), agent: false, headers: { 'content-type': 'application/json', ...headers } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] }));
        response.on('error', reject);
      },
    );
    call.on('error', reject);
    call.end(body);
  });
}

const signedCount = async () => (await listSignerEvents(db.pool, { key: 'batcher', kind: 'signed' })).length;
const bearer = () => ({ authorization: `Bearer ${token}` });

describe('remote signer over mutual TLS', () => {
  test('a client with a certificate from the configured CA and its token signs', async () => {
    const before = await signedCount();
    const answer = await signOverTls(pki.client, bearer());
    assert.equal(answer.status, 200);
    assert.equal(await recoverMessageAddress({ message: { raw: '0x68656c6c6f' }, signature: answer.body.result as Hex }), key.address);
    assert.equal(await signedCount(), before + 1);
  });

  test('the certificate does not replace the token: without it, 401 and nothing signed', async () => {
    const before = await signedCount();
    const answer = await signOverTls(pki.client, {});
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error?.code, -32002);
    assert.equal(await signedCount(), before);
  });

  test('without a client certificate the handshake refuses the connection: no HTTP answer, nothing signed', async () => {
    const before = await signedCount();
    const refused = refusal();
    // TLS 1.3 sends the refusal as the alert "certificate required" right after the handshake.
    await assert.rejects(signOverTls(null, bearer()), (error: NodeJS.ErrnoException) => error.code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || error.code === 'ECONNRESET');
    assert.equal(await refused, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    assert.equal(await signedCount(), before);
  });

  test('a certificate from another CA is refused in the handshake: no HTTP answer, nothing signed', async () => {
    const before = await signedCount();
    const refused = refusal();
    // Node checks the chain when the handshake completes and drops the connection before reading a byte of HTTP.
    await assert.rejects(signOverTls(pki.strangerClient, bearer()), (error: NodeJS.ErrnoException) => error.code === 'ECONNRESET' || error.code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
    assert.ok(await refused);
    assert.equal(await signedCount(), before);
  });

  test('the plain API port signs nothing once mutual TLS is configured, and says where to go', async () => {
    const before = await signedCount();
    const response = await fetch(`http://127.0.0.1:${apiPort}/signer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer() },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sign', params: [key.address, '0x68656c6c6f'] }),
    });
    assert.equal(response.status, 403);
    const body = (await response.json()) as Answer['body'];
    assert.equal(body.error?.code, -32002);
    assert.match(body.error?.message ?? '', new RegExp(`mutual TLS on port ${tlsPort}`));
    const rest = await fetch(`http://127.0.0.1:${apiPort}/api/v1/eth1/publicKeys`, { headers: bearer() });
    assert.equal(rest.status, 403);
    assert.equal(((await rest.json()) as { code: string }).code, 'signer_requires_mtls');
    assert.equal(await (await fetch(`http://127.0.0.1:${apiPort}/upcheck`)).text(), 'OK');
    assert.equal(await signedCount(), before);
  });
});
