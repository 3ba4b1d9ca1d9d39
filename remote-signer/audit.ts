// The operator's side: setting a key's policy (a new version, recorded as an event) and reading
// the audit trail of signatures, refusals and policy versions.
import { withTransaction, type Pool, type Queryable } from '../infra/index.ts';
import type { JsonObject } from '../ledger/index.ts';
import { RemoteSignerError } from './errors.ts';
import { keyColumns, toSignerKey, type KeyRow, type SignerKey } from './keys.ts';
import { parseSignerPolicy } from './policy.ts';

/** Replaces the key's policy (validated; a ZodError names the field) and records the new version. `actor`: who set it. */
export async function setSignerPolicy(pool: Pool, options: { key: string; policy: unknown; actor: string }): Promise<SignerKey> {
  const policy = parseSignerPolicy(options.policy);
  return withTransaction(pool, async (db) => {
    const { rows } = await db.query<KeyRow>(
      `UPDATE remote_signer_keys SET policy = $2, policy_version = policy_version + 1 WHERE name = $1 RETURNING ${keyColumns}`,
      [options.key, policy],
    );
    if (!rows[0]) throw new RemoteSignerError('not_found', `no signer key named ${options.key}`);
    const key = toSignerKey(rows[0]);
    await db.query(`INSERT INTO remote_signer_events (key_name, actor, kind, detail, at) VALUES ($1, $2, 'policy_set', $3, now())`, [
      key.name,
      options.actor,
      { version: key.policyVersion, policy } satisfies Record<string, unknown>,
    ]);
    return key;
  });
}

export type SignerEventKind = 'signed' | 'refused' | 'policy_set';

export interface SignerEvent {
  id: string;
  key: string;
  kind: SignerEventKind;
  actor: string;
  method: string | null;
  digest: string | null;
  chainId: string | null;
  value: string | null;
  code: string | null;
  detail: JsonObject;
  at: Date;
}

/** Events are listed newest first, at most this many a page. */
export const eventsPageMax = 500;

/** The audit trail, newest first: of one key or all, of one kind or all, before an event id (paging). */
export async function listSignerEvents(db: Queryable, options: { key?: string; kind?: SignerEventKind; beforeId?: string; limit?: number } = {}): Promise<SignerEvent[]> {
  const limit = Math.min(Math.max(options.limit ?? 100, 1), eventsPageMax);
  const { rows } = await db.query<{ id: string; key_name: string; kind: SignerEventKind; actor: string; method: string | null; digest: string | null; chain_id: string | null; value: string | null; code: string | null; detail: JsonObject; at: Date }>(
    `SELECT id::text, key_name, kind, actor, method, digest, chain_id::text, value::text, code, detail, at FROM remote_signer_events e
      WHERE ($1::text IS NULL OR key_name = $1) AND ($2::text IS NULL OR kind = $2) AND ($3::bigint IS NULL OR e.id < $3)
      -- e.id: the bigint, not the text column of the same name in the output.
      ORDER BY e.id DESC LIMIT $4`,
    [options.key ?? null, options.kind ?? null, options.beforeId ?? null, limit],
  );
  return rows.map((row) => ({ id: row.id, key: row.key_name, kind: row.kind, actor: row.actor, method: row.method, digest: row.digest, chainId: row.chain_id, value: row.value, code: row.code, detail: row.detail, at: row.at }));
}
