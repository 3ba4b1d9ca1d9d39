// The remote signer's mutual-TLS material, read and checked once at start: a server certificate
// that matches its key, and a CA to hold client certificates to. Every problem is a ConfigError
// naming the variable (and, for a path, the path): never the content, since one of them is a
// private key.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from './config.ts';

export interface SignerTls {
  /** The server certificate chain, PEM. */
  cert: Buffer;
  key: Buffer;
  /** The CA (or CAs) a client certificate must chain to, PEM. */
  ca: Buffer;
  port: number;
}

type TlsVariable = 'SIGNER_TLS_CERT' | 'SIGNER_TLS_KEY' | 'SIGNER_TLS_CLIENT_CA';

const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/** The variable's PEM: its value when that is PEM text, else the file it names. */
function readPem(variable: TlsVariable, value: string): Buffer {
  if (value.trimStart().startsWith('-----BEGIN ')) return Buffer.from(value);
  try {
    return readFileSync(value);
  } catch (error) {
    throw new ConfigError(`invalid configuration:\n  ${variable}: cannot read ${value} (${error instanceof Error && 'code' in error ? String(error.code) : 'unreadable'})`);
  }
}

function certificates(variable: TlsVariable, pem: Buffer): X509Certificate[] {
  const blocks = [...pem.toString('utf8').matchAll(pemBlock)].filter((match) => match[1] === 'CERTIFICATE');
  const parsed = blocks.flatMap((block) => {
    try {
      return [new X509Certificate(block[0])];
    } catch {
      return [];
    }
  });
  if (parsed.length === 0 || parsed.length !== blocks.length) throw new ConfigError(`invalid configuration:\n  ${variable}: must be PEM certificates (-----BEGIN CERTIFICATE-----), and one of them is not`);
  return parsed;
}

function privateKey(pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    // OpenSSL's own message is not repeated: it is about the bytes of a secret.
    throw new ConfigError('invalid configuration:\n  SIGNER_TLS_KEY: must be an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)');
  }
}

/** The signer's TLS material, or null when mutual TLS is not configured (loadConfig already refused half of it). */
export function signerTlsMaterial(config: Pick<Config, TlsVariable | 'SIGNER_TLS_PORT'>): SignerTls | null {
  if (config.SIGNER_TLS_CERT === undefined || config.SIGNER_TLS_KEY === undefined || config.SIGNER_TLS_CLIENT_CA === undefined) return null;
  const cert = readPem('SIGNER_TLS_CERT', config.SIGNER_TLS_CERT);
  const key = readPem('SIGNER_TLS_KEY', config.SIGNER_TLS_KEY);
  const ca = readPem('SIGNER_TLS_CLIENT_CA', config.SIGNER_TLS_CLIENT_CA);
  const [leaf] = certificates('SIGNER_TLS_CERT', cert);
  if (!leaf?.checkPrivateKey(privateKey(key))) throw new ConfigError('invalid configuration:\n  SIGNER_TLS_KEY: is not the private key of the first certificate in SIGNER_TLS_CERT');
  const authorities = certificates('SIGNER_TLS_CLIENT_CA', ca);
  if (!authorities.every((authority) => authority.ca)) throw new ConfigError('invalid configuration:\n  SIGNER_TLS_CLIENT_CA: every certificate must be a CA certificate (basicConstraints CA:TRUE)');
  return { cert, key, ca, port: config.SIGNER_TLS_PORT };
}
