// Who a key is, by its public id, for rooms that hold a key id rather than the key: the pages'
// sessions (web/) read it at every request, so a revoked key ends its sessions at once.
import { runFirst, sql, sqlBuilder, type Queryable } from '../infra/index.ts';
import { isRole, type ApiKeyIdentity } from './keys.ts';

/** The identity of key `id` while it is neither revoked nor rotated past its overlap; null otherwise. */
export async function liveApiKey(db: Queryable, id: string): Promise<ApiKeyIdentity | null> {
  const row = await runFirst(
    db,
    sqlBuilder
      .selectFrom('api_keys')
      .select(['id', 'role', 'name', 'user_id', 'wallet_id'])
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)])),
  );
  if (!row || !isRole(row.role)) return null;
  return { id: row.id, role: row.role, name: row.name, userId: row.user_id, walletId: row.wallet_id };
}
