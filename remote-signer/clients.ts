// Signing clients: who may ask for signatures, and with which keys. A client's token,
// `csk_<id>_<secret>`, is printed once at creation; only SHA-256 of the secret is stored (32
// random bytes, so a plain hash cannot be searched), and it is compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { withTransaction, type Pool, type Queryable } from '../infra/index.ts';
import { RemoteSignerError } from './errors.ts';

export interface SigningClient {
  id: string;
  name: string | null;
  /** The keys this client may sign with, by name. */
  keyNames: string[];
  createdAt: Date;
  revokedAt: Date | null;
}

/** A client may be given at most this many keys. */
export const clientKeysMax = 100;

const tokenPattern = /^csk_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;
const idAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest();

/** A new client for `keyNames`; the token is in this answer only. */
export async function createSigningClient(pool: Pool, options: { keyNames: string[]; name?: string }): Promise<SigningClient & { token: string }> {
  const keyNames = [...new Set(options.keyNames)];
  if (keyNames.length === 0 || keyNames.length > clientKeysMax) throw new RemoteSignerError('invalid_params', `a signing client is given 1 to ${clientKeysMax} keys`);
  if (options.name !== undefined && (options.name.length < 1 || options.name.length > 100)) throw new RemoteSignerError('invalid_params', 'a client name is 1–100 characters');
  const id = Array.from(randomBytes(16), (byte) => idAlphabet[byte % idAlphabet.length]).join('');
  const secret = randomBytes(32).toString('base64url');
  return withTransaction(pool, async (client) => {
    const { rows: known } = await client.query<{ name: string }>('SELECT name FROM remote_signer_keys WHERE name = ANY($1::text[])', [keyNames]);
    const missing = keyNames.filter((name) => !known.some((row) => row.name === name));
    if (missing.length) throw new RemoteSignerError('not_found', `no signer key named ${missing.join(', ')}; create it with \`coffer signer keys create --name <n>\``);
    const { rows } = await client.query<{ created_at: Date }>('INSERT INTO remote_signer_clients (id, name, secret_hash) VALUES ($1, $2, $3) RETURNING created_at', [id, options.name ?? null, hashSecret(secret)]);
    await client.query('INSERT INTO remote_signer_client_keys (client_id, key_name) SELECT $1, unnest($2::text[])', [id, keyNames]);
    return { id, name: options.name ?? null, keyNames: keyNames.sort(), createdAt: rows[0]!.created_at, revokedAt: null, token: `csk_${id}_${secret}` };
  });
}

interface ClientRow {
  id: string;
  name: string | null;
  secret_hash: Buffer;
  key_names: string[] | null;
  created_at: Date;
  revoked_at: Date | null;
}

const clientQuery = `SELECT c.id, c.name, c.secret_hash, c.created_at, c.revoked_at,
  (SELECT array_agg(key_name ORDER BY key_name) FROM remote_signer_client_keys WHERE client_id = c.id) AS key_names
  FROM remote_signer_clients c`;

const toClient = (row: ClientRow): SigningClient => ({ id: row.id, name: row.name, keyNames: row.key_names ?? [], createdAt: row.created_at, revokedAt: row.revoked_at });

/** The client a token belongs to, or null (unknown, wrong secret, revoked). */
export async function authenticateSigningClient(db: Queryable, token: string): Promise<SigningClient | null> {
  const match = tokenPattern.exec(token);
  if (!match) return null;
  const { rows } = await db.query<ClientRow>(`${clientQuery} WHERE c.id = $1 AND c.revoked_at IS NULL`, [match[1]]);
  const row = rows[0];
  if (!row || !timingSafeEqual(row.secret_hash, hashSecret(match[2]!))) return null;
  return toClient(row);
}

export async function listSigningClients(db: Queryable): Promise<SigningClient[]> {
  const { rows } = await db.query<ClientRow>(`${clientQuery} ORDER BY c.created_at, c.id`);
  return rows.map(toClient);
}

export async function revokeSigningClient(db: Queryable, id: string): Promise<boolean> {
  const result = await db.query('UPDATE remote_signer_clients SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
  return (result.rowCount ?? 0) > 0;
}
