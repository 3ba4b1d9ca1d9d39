// API keys: `coffer_<id>_<secret>`. The id is public and indexes the row; only SHA-256 of the
// secret is stored. The full key exists once, in the answer to `coffer keys create`.
import { CodedError, randomId, randomSecret, run, runCount, runFirst, secretHash, secretMatches, sql, sqlBuilder, withTransaction, type Pool, type Queryable } from '../infra/index.ts';
import { recordRotation, RotationError } from '../rotations/index.ts';

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

export const isRole = (role: string): role is Role => (roles as readonly string[]).includes(role);

export async function createApiKey(db: Queryable, options: { role: Role; name?: string; userId?: string; walletId?: string }): Promise<ApiKeyIdentity & { key: string }> {
  if (!roles.includes(options.role)) throw new ApiKeyError('invalid_role', `role must be one of ${roles.join(', ')}`);
  if ((options.role === 'user') !== (options.userId !== undefined)) throw new ApiKeyError('invalid_key_owner', 'a user key needs a user id, and only a user key has one');
  if ((options.role === 'agent') !== (options.walletId !== undefined)) throw new ApiKeyError('invalid_key_owner', 'an agent key needs a wallet id, and only an agent key has one');
  const id = randomId(16);
  const secret = randomSecret();
  const identity = { id, role: options.role, name: options.name ?? null, userId: options.userId ?? null, walletId: options.walletId ?? null };
  await run(db, sqlBuilder.insertInto('api_keys').values({ id, role: identity.role, name: identity.name, secret_hash: secretHash(secret), user_id: identity.userId, wallet_id: identity.walletId }));
  return { ...identity, key: `coffer_${id}_${secret}` };
}

/** The key's identity, or null: unknown, revoked, or a rotated key past its overlap at `now`. */
export async function authenticateApiKey(db: Queryable, key: string, now: Date = new Date()): Promise<ApiKeyIdentity | null> {
  const [, id, secret] = keyPattern.exec(key) ?? [];
  if (id === undefined || secret === undefined) return null;
  const row = await runFirst(
    db,
    sqlBuilder
      .selectFrom('api_keys')
      .select(['id', 'role', 'name', 'secret_hash', 'user_id', 'wallet_id'])
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])),
  );
  if (!row || !secretMatches(row.secret_hash, secret) || !isRole(row.role)) return null;
  return { id: row.id, role: row.role, name: row.name, userId: row.user_id, walletId: row.wallet_id };
}

export async function revokeApiKey(db: Queryable, id: string): Promise<boolean> {
  return (await runCount(db, sqlBuilder.updateTable('api_keys').set({ revoked_at: sql<Date>`now()` }).where('id', '=', id).where('revoked_at', 'is', null))) > 0;
}

/**
 * Rotation: a new key with the same role and scope, and the old one valid for `overlapSeconds`
 * more (measured from `now`), then refused. Both, and the audit event, commit together. A key
 * already rotated is refused (rotate its successor), and so is a revoked one.
 */
export async function rotateApiKey(pool: Pool, id: string, options: { overlapSeconds: number; actor: string; now?: Date; walletId?: string }): Promise<ApiKeyIdentity & { key: string; replaces: string; oldExpiresAt: Date }> {
  const now = options.now ?? new Date();
  return withTransaction(pool, async (client) => {
    const old = await runFirst(client, sqlBuilder.selectFrom('api_keys').select(['role', 'name', 'user_id', 'wallet_id', 'revoked_at', 'rotated_to']).where('id', '=', id).forUpdate());
    // A key outside the wallet a caller is scoped to is, for that caller, no key at all.
    if (!old || old.revoked_at !== null || (options.walletId !== undefined && old.wallet_id !== options.walletId)) throw new RotationError('key_not_found', `no active API key ${id.slice(0, 40)}`);
    if (old.rotated_to) throw new RotationError('key_already_rotated', `key ${id} was already rotated to ${old.rotated_to}; rotate that one`);
    if (!isRole(old.role)) throw new ApiKeyError('invalid_role', `key ${id} has the unknown role ${old.role.slice(0, 40)}`);
    const created = await createApiKey(client, {
      role: old.role,
      ...(old.name !== null ? { name: old.name } : {}),
      ...(old.user_id !== null ? { userId: old.user_id } : {}),
      ...(old.wallet_id !== null ? { walletId: old.wallet_id } : {}),
    });
    const oldExpiresAt = new Date(now.getTime() + options.overlapSeconds * 1000);
    await run(client, sqlBuilder.updateTable('api_keys').set({ expires_at: oldExpiresAt, rotated_to: created.id }).where('id', '=', id));
    await recordRotation(client, {
      kind: old.role === 'agent' ? 'agent_key' : 'api_key',
      subject: id,
      step: 'rotated',
      oldRef: id,
      newRef: created.id,
      overlapUntil: oldExpiresAt,
      actor: options.actor,
      detail: { role: old.role, ...(old.wallet_id ? { walletId: old.wallet_id } : {}), ...(old.user_id ? { userId: old.user_id } : {}) },
    });
    return { ...created, replaces: id, oldExpiresAt };
  });
}
