// The operators' list of users and their deposit addresses (seed 004's admin page), searchable
// by user id, NEAR account or any part of an address.
import { run, sql, sqlBuilder, type Queryable } from '../infra/index.ts';

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
  let query = sqlBuilder
    .selectFrom('users as u')
    .select([
      'u.id',
      'u.near_account_id',
      'u.is_sweep_enabled',
      'u.created_at',
      sql<{ chain: string; address: string }[]>`coalesce((SELECT json_agg(json_build_object('chain', d.chain, 'address', d.address) ORDER BY d.chain)
                      FROM deposit_addresses d WHERE d.user_id = u.id), '[]')`.as('addresses'),
    ]);
  if (needle !== null) {
    query = query.where((eb) =>
      eb.or([
        eb('u.id', 'ilike', needle),
        eb('u.near_account_id', 'ilike', needle),
        eb.exists(eb.selectFrom('deposit_addresses as d').select('d.id').whereRef('d.user_id', '=', 'u.id').where('d.address', 'ilike', needle)),
      ]),
    );
  }
  const rows = await run(db, query.orderBy('u.created_at', 'desc').orderBy('u.id').limit(options.limit));
  return rows.map((r) => ({ id: r.id, nearAccountId: r.near_account_id, isSweepEnabled: r.is_sweep_enabled, createdAt: r.created_at, addresses: r.addresses }));
}
