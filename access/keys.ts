// API keys: `coffer_<id>_<secret>`. The id is public and indexes the row; only SHA-256 of the
// secret is stored. The full key exists once, in the answer to `coffer keys create`.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CodedError, type Queryable } from '../infra/index.ts';

/** `sponsor` keys may only ask the paymaster service (POST /v1/paymaster) for signatures. */
export const roles = ['user', 'agent', 'auditor', 'operator', 'sponsor'] as const;

const apiKeyErrorCodes = ['invalid_role', 'invalid_key_owner'] as const;

/** A key that cannot be issued as asked. */
export class ApiKeyError extends CodedError<(typeof apiKeyErrorCodes)[number]> {
  static readonly codes = apiKeyErrorCodes;
  override name = 'ApiKeyError';
}

export type Role = (typeof roles)[number];

export interface ApiKeyIdentity {
  id: string;
  role: Role;
  name: string | null;
  /** Set exactly for `user` keys: the one user they may see. */
  userId: string | null;
  /** Set exactly for `agent` keys: the one wallet they act for. */
  walletId: string | null;
}

const keyPattern = /^coffer_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;
const idAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export async function createApiKey(db: Queryable, options: { role: Role; name?: string; userId?: string; walletId?: string }): Promise<ApiKeyIdentity & { key: string }> {
  if (!roles.includes(options.role)) throw new ApiKeyError('invalid_role', `role must be one of ${roles.join(', ')}`);
  if ((options.role === 'user') !== (options.userId !== undefined)) throw new ApiKeyError('invalid_key_owner', 'a user key needs a user id, and only a user key has one');
  if ((options.role === 'agent') !== (options.walletId !== undefined)) throw new ApiKeyError('invalid_key_owner', 'an agent key needs a wallet id, and only an agent key has one');
  const id = Array.from(randomBytes(16), (byte) => idAlphabet[byte % idAlphabet.length]).join('');
  const secret = randomBytes(32).toString('base64url');
  await db.query('INSERT INTO api_keys (id, role, name, secret_hash, user_id, wallet_id) VALUES ($1, $2, $3, $4, $5, $6)', [
    id,
    options.role,
    options.name ?? null,
    hashSecret(secret),
    options.userId ?? null,
    options.walletId ?? null,
  ]);
  return { id, role: options.role, name: options.name ?? null, userId: options.userId ?? null, walletId: options.walletId ?? null, key: `coffer_${id}_${secret}` };
}

export async function authenticateApiKey(db: Queryable, key: string): Promise<ApiKeyIdentity | null> {
  const match = keyPattern.exec(key);
  if (!match) return null;
  const { rows } = await db.query<{ id: string; role: Role; name: string | null; secret_hash: Buffer; user_id: string | null; wallet_id: string | null }>(
    'SELECT id, role, name, secret_hash, user_id, wallet_id FROM api_keys WHERE id = $1 AND revoked_at IS NULL',
    [match[1]],
  );
  const row = rows[0];
  if (!row || !timingSafeEqual(row.secret_hash, hashSecret(match[2]!))) return null;
  return { id: row.id, role: row.role, name: row.name, userId: row.user_id, walletId: row.wallet_id };
}

export async function revokeApiKey(db: Queryable, id: string): Promise<boolean> {
  const result = await db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
  return (result.rowCount ?? 0) > 0;
}
