// The operator's side: setting a key's policy (a new version, recorded as an event) and reading
// the audit trail of signatures, refusals and policy versions.
import assert from 'node:assert/strict';
import { run, runFirst, sql, sqlBuilder, withTransaction, type DatabaseJson, type Pool, type Queryable } from '../infra/index.ts';
import type { JsonObject } from '../ledger/index.ts';
import { RemoteSignerError } from './errors.ts';
import { keyColumns, toSignerKey, type SignerKey } from './keys.ts';
import { parseSignerPolicy } from './policy.ts';

/** Replaces the key's policy (validated; a ZodError names the field) and records the new version. `actor`: who set it. */
export async function setSignerPolicy(pool: Pool, options: { key: string; policy: unknown; actor: string }): Promise<SignerKey> {
  const policy = parseSignerPolicy(options.policy);
  return withTransaction(pool, async (db) => {
    const row = await runFirst(
      db,
      sqlBuilder
        .updateTable('remote_signer_keys')
        .set((eb) => ({ policy: JSON.stringify(policy), policy_version: eb('policy_version', '+', 1) }))
        .where('name', '=', options.key)
        .returning(keyColumns),
    );
    if (!row) throw new RemoteSignerError('not_found', `no signer key named ${options.key}`);
    const key = toSignerKey(row);
    const detail = { version: key.policyVersion, policy } satisfies Record<string, unknown>;
    await run(db, sqlBuilder.insertInto('remote_signer_events').values({ key_name: key.name, actor: options.actor, kind: 'policy_set', detail: JSON.stringify(detail), at: sql<Date>`now()` }));
    return key;
  });
}

export const signerEventKinds = ['signed', 'refused', 'policy_set'] as const;
export type SignerEventKind = (typeof signerEventKinds)[number];

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
  let select = sqlBuilder
    .selectFrom('remote_signer_events')
    .select(['id', 'key_name', 'kind', 'actor', 'method', 'digest', 'chain_id', 'value', 'code', 'detail', 'at'])
    .orderBy('id', 'desc')
    .limit(limit);
  if (options.key !== undefined) select = select.where('key_name', '=', options.key);
  if (options.kind !== undefined) select = select.where('kind', '=', options.kind);
  // Cast by PostgreSQL, as before: a cursor that is not a number is its input error (400), not ours.
  if (options.beforeId !== undefined) select = select.where('id', '<', sql<bigint>`${options.beforeId}::bigint`);
  return (await run(db, select)).map((row) => {
    const { kind, detail } = row;
    // The table's CHECK constraint holds kinds to this list, and every detail written is an object.
    assert.ok(isSignerEventKind(kind) && isJsonObject(detail), `remote_signer_events row ${row.id} does not have the shape this code knows`);
    return { id: row.id.toString(), key: row.key_name, kind, actor: row.actor, method: row.method, digest: row.digest, chainId: row.chain_id?.toString() ?? null, value: row.value, code: row.code, detail, at: row.at };
  });
}

const isSignerEventKind = (kind: string): kind is SignerEventKind => (signerEventKinds as readonly string[]).includes(kind);
const isJsonObject = (value: DatabaseJson): value is JsonObject => value !== null && typeof value === 'object' && !Array.isArray(value);
