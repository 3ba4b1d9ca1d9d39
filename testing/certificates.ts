// A throwaway PKI for mutual-TLS tests, made with the openssl CLI in a directory of the test's:
// a CA, a server certificate for 127.0.0.1 and a client certificate signed by it, and a second,
// unrelated CA with a client certificate of its own (what a stranger would present). Serials are
// random rather than kept in a serial file, so certificates can be issued in parallel.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const openssl = '/usr/bin/openssl';

export interface TestPki {
  /** Paths of the PEM files. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** PEM contents, for TLS clients. */
  client: { cert: Buffer; key: Buffer };
  strangerClient: { cert: Buffer; key: Buffer };
  ca: Buffer;
}

async function newKey(path: string): Promise<void> {
  await run(openssl, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

async function newCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  await newKey(key);
  await run(openssl, ['req', '-x509', '-new', '-key', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  return { cert, key };
}

async function issue(dir: string, name: string, ca: { cert: string; key: string }, extensions: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  await newKey(key);
  await run(openssl, ['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${name}`]);
  await writeFile(ext, `${extensions}\n`);
  await run(openssl, ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-out', cert, '-days', '2', '-extfile', ext]);
  return { cert, key };
}

const contents = async (pair: { cert: string; key: string }) => ({ cert: await readFile(pair.cert), key: await readFile(pair.key) });

export async function createTestPki(dir: string): Promise<TestPki> {
  const [ca, stranger] = await Promise.all([newCa(dir, 'signer-clients-ca'), newCa(dir, 'stranger-ca')]);
  const [server, client, strangerClient] = await Promise.all([
    issue(dir, 'signer-server', ca, 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'),
    issue(dir, 'op-batcher', ca, 'extendedKeyUsage=clientAuth'),
    issue(dir, 'stranger', stranger, 'extendedKeyUsage=clientAuth'),
  ]);
  return { caCert: ca.cert, serverCert: server.cert, serverKey: server.key, client: await contents(client), strangerClient: await contents(strangerClient), ca: await readFile(ca.cert) };
}
