// Signing clients: who may ask for signatures, and with which keys. A client's token,
// `csk_<id>_<secret>`, is printed once at creation; only SHA-256 of the secret is stored (32
// random bytes, so a plain hash cannot be searched), and it is compared in constant time.
import { randomId, randomSecret, run, runCount, runFirst, runOne, secretHash, secretMatches, sql, sqlBuilder, withTransaction, type Pool, type Queryable } from '../infra/index.ts';
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

/** A new client for `keyNames`; the token is in this answer only. */
export async function createSigningClient(pool: Pool, options: { keyNames: string[]; name?: string }): Promise<SigningClient & { token: string }> {
  const keyNames = [...new Set(options.keyNames)].sort();
  if (keyNames.length === 0 || keyNames.length > clientKeysMax) throw new RemoteSignerError('invalid_params', `a signing client is given 1 to ${clientKeysMax} keys`);
  if (options.name !== undefined && (options.name.length < 1 || options.name.length > 100)) throw new RemoteSignerError('invalid_params', 'a client name is 1–100 characters');
  const id = randomId(16);
  const secret = randomSecret();
  return withTransaction(pool, async (client) => {
    const known = await run(client, sqlBuilder.selectFrom('remote_signer_keys').select('name').where('name', 'in', keyNames));
    const missing = keyNames.filter((name) => !known.some((row) => row.name === name));
    if (missing.length) throw new RemoteSignerError('not_found', `no signer key named ${missing.join(', ')}; create it with \`coffer signer keys create --name <n>\``);
    const { created_at: createdAt } = await runOne(client, sqlBuilder.insertInto('remote_signer_clients').values({ id, name: options.name ?? null, secret_hash: secretHash(secret) }).returning('created_at'));
    await run(client, sqlBuilder.insertInto('remote_signer_client_keys').values(keyNames.map((keyName) => ({ client_id: id, key_name: keyName }))));
    return { id, name: options.name ?? null, keyNames, createdAt, revokedAt: null, token: `csk_${id}_${secret}` };
  });
}

/** Clients with the names of their keys (an empty list for a client whose keys are all gone). */
const selectClients = () =>
  sqlBuilder
    .selectFrom('remote_signer_clients as c')
    .select((eb) => [
      'c.id',
      'c.name',
      'c.secret_hash',
      'c.created_at',
      'c.revoked_at',
      eb.fn
        .coalesce(
          eb.selectFrom('remote_signer_client_keys as ck').select(sql<string[]>`array_agg(ck.key_name ORDER BY ck.key_name)`.as('names')).whereRef('ck.client_id', '=', 'c.id'),
          sql<string[]>`'{}'::text[]`,
        )
        .as('key_names'),
    ]);

type ClientRow = { id: string; name: string | null; key_names: string[]; created_at: Date; revoked_at: Date | null };
const toClient = (row: ClientRow): SigningClient => ({ id: row.id, name: row.name, keyNames: row.key_names, createdAt: row.created_at, revokedAt: row.revoked_at });

/** The client a token belongs to, or null (unknown, wrong secret, revoked). */
export async function authenticateSigningClient(db: Queryable, token: string): Promise<SigningClient | null> {
  const [, id, secret] = tokenPattern.exec(token) ?? [];
  if (id === undefined || secret === undefined) return null;
  const row = await runFirst(db, selectClients().where('c.id', '=', id).where('c.revoked_at', 'is', null));
  if (!row || !secretMatches(row.secret_hash, secret)) return null;
  return toClient(row);
}

export async function listSigningClients(db: Queryable): Promise<SigningClient[]> {
  return (await run(db, selectClients().orderBy('c.created_at').orderBy('c.id'))).map(toClient);
}

export async function revokeSigningClient(db: Queryable, id: string): Promise<boolean> {
  return (await runCount(db, sqlBuilder.updateTable('remote_signer_clients').set({ revoked_at: sql<Date>`now()` }).where('id', '=', id).where('revoked_at', 'is', null))) > 0;
}
