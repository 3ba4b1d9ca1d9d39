// The operators' list of users and their deposit addresses (seed 004's admin page), searchable
// by user id, NEAR account or any part of an address.
import type { Queryable } from '../infra/index.ts';

export interface UserWithAddresses {
  id: string;
  nearAccountId: string;
  isSweepEnabled: boolean;
  createdAt: Date;
  addresses: { chain: string; address: string }[];
}

export const userSearchLimitMax = 200;

/** Newest users first; `query` matches case-insensitively anywhere in the id, NEAR account or an address. */
export async function searchUsers(db: Queryable, options: { query?: string; limit: number }): Promise<UserWithAddresses[]> {
  if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > userSearchLimitMax) throw new RangeError(`limit must be 1–${userSearchLimitMax}`);
  const needle = options.query?.trim() ? `%${options.query.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const { rows } = await db.query<{ id: string; near_account_id: string; is_sweep_enabled: boolean; created_at: Date; addresses: { chain: string; address: string }[] }>(
    `SELECT u.id, u.near_account_id, u.is_sweep_enabled, u.created_at,
            coalesce((SELECT json_agg(json_build_object('chain', d.chain, 'address', d.address) ORDER BY d.chain)
                        FROM deposit_addresses d WHERE d.user_id = u.id), '[]') AS addresses
       FROM users u
      WHERE $1::text IS NULL OR u.id ILIKE $1 OR u.near_account_id ILIKE $1
         OR EXISTS (SELECT 1 FROM deposit_addresses d WHERE d.user_id = u.id AND d.address ILIKE $1)
      ORDER BY u.created_at DESC, u.id LIMIT $2`,
    [needle, options.limit],
  );
  return rows.map((r) => ({ id: r.id, nearAccountId: r.near_account_id, isSweepEnabled: r.is_sweep_enabled, createdAt: r.created_at, addresses: r.addresses }));
}
