// The SQL of the writer's two paths: reading what a batch needs, and the one set-based
// statement that inserts a batch's entries, postings, seal and rejections. Only writer.ts and
// pipeline.ts call these.
import type { Queryable } from '../infra/index.ts';
import { SealHasher, sealEncodingVersion, zeroHash } from './canonical.ts';
import { balanceKey, type AssetInfo, type BalanceState, type KnownKeys } from './decide.ts';
import type { JournalEntry, JsonObject, Rejection, RejectionCode } from './types.ts';

/** The end of the hash chain: the last seal and the last entry it covers. */
export interface ChainHead {
  sealId: bigint;
  lastEntryId: bigint;
  hash: Buffer;
}

export interface BatchState {
  now: Date;
  head: ChainHead;
  known: KnownKeys;
  /** Entries among the reversal targets that have been reversed already. */
  reversed: Set<bigint>;
}

const headSql = `(SELECT json_build_object('id', id::text, 'last_entry_id', last_entry_id::text, 'hash', encode(hash, 'hex'))
   FROM ledger_seals ORDER BY id DESC LIMIT 1)`;

interface HeadRow {
  id: string;
  last_entry_id: string;
  hash: string;
}

function toHead(row: HeadRow | null): ChainHead {
  return row
    ? { sealId: BigInt(row.id), lastEntryId: BigInt(row.last_entry_id), hash: Buffer.from(row.hash, 'hex') }
    : { sealId: 0n, lastEntryId: 0n, hash: zeroHash };
}

/** The database's clock (to the millisecond, as entries store it) and the chain head. */
export async function readHead(client: Queryable): Promise<{ now: Date; head: ChainHead }> {
  const { rows } = await client.query<{ now: Date; head: HeadRow | null }>(`SELECT date_trunc('milliseconds', now()) AS now, ${headSql} AS head`);
  return { now: rows[0]!.now, head: toHead(rows[0]!.head) };
}

/** Everything the careful path reads under the writer lock before it decides. */
export async function readBatchState(client: Queryable, keys: string[], reversalTargets: string[]): Promise<BatchState> {
  const { rows } = await client.query<{
    now: Date;
    head: HeadRow | null;
    entries: { key: string; id: string; hash: string }[];
    rejections: { key: string; hash: string; code: RejectionCode; detail: JsonObject & { message?: string } }[];
    reversed: string[];
  }>(
    `SELECT date_trunc('milliseconds', now()) AS now, ${headSql} AS head,
      (SELECT coalesce(json_agg(json_build_object('key', idempotency_key, 'id', id::text, 'hash', encode(request_hash, 'hex'))), '[]')
         FROM journal_entries WHERE idempotency_key = ANY($1::text[])) AS entries,
      (SELECT coalesce(json_agg(json_build_object('key', idempotency_key, 'hash', encode(request_hash, 'hex'), 'code', code, 'detail', detail)), '[]')
         FROM rejections WHERE idempotency_key = ANY($1::text[])) AS rejections,
      (SELECT coalesce(json_agg(reverses::text), '[]') FROM journal_entries WHERE reverses = ANY($2::bigint[])) AS reversed`,
    [keys, reversalTargets],
  );
  const row = rows[0]!;
  return {
    now: row.now,
    head: toHead(row.head),
    known: {
      entries: new Map(row.entries.map((e) => [e.key, { id: BigInt(e.id), hash: e.hash }])),
      rejections: new Map(
        row.rejections.map((r) => {
          const { message, ...detail } = r.detail;
          return [r.key, { hash: r.hash, rejection: { code: r.code, message: message ?? r.code, detail } }];
        }),
      ),
    },
    reversed: new Set(row.reversed.map(BigInt)),
  };
}

export async function loadAssets(client: Queryable): Promise<Map<string, AssetInfo>> {
  const { rows } = await client.query<{ code: string; id: number; scale: number }>('SELECT code, id, scale FROM assets');
  return new Map(rows.map((row) => [row.code, { id: row.id, scale: row.scale }]));
}

/** Ids of `paths`, creating the accounts that do not exist yet (accounts are created on first use). */
export async function ensureAccounts(client: Queryable, paths: string[]): Promise<Map<string, bigint>> {
  await client.query('INSERT INTO accounts (path) SELECT unnest($1::text[]) ON CONFLICT (path) DO NOTHING', [paths]);
  const { rows } = await client.query<{ id: bigint; path: string }>('SELECT id, path FROM accounts WHERE path = ANY($1::text[])', [paths]);
  return new Map(rows.map((row) => [row.path, row.id]));
}

/** Balance rows for first-time (account, asset) pairs; PostgreSQL sets their floors from the rules. */
export async function ensureBalanceRows(client: Queryable, pairs: readonly (readonly [bigint, number])[]): Promise<void> {
  await client.query(`INSERT INTO balances (account_id, asset_id) SELECT * FROM unnest($1::bigint[], $2::int[]) ON CONFLICT DO NOTHING`, [
    numberArray(pairs.map(([accountId]) => accountId)),
    numberArray(pairs.map(([, assetId]) => assetId)),
  ]);
}

/**
 * Balances and floors of `pairs`. With `lock`, the rows are locked in a fixed order, so two
 * writers (or a writer and a person with psql) cannot deadlock.
 */
export async function readBalances(client: Queryable, pairs: readonly (readonly [bigint, number])[], lock: boolean): Promise<Map<string, BalanceState>> {
  const balances = new Map<string, BalanceState>();
  if (pairs.length === 0) return balances;
  const { rows } = await client.query<{ account_id: bigint; asset_id: number; balance: string; floor: string | null }>(
    `SELECT b.account_id, b.asset_id, b.balance::text, b.floor::text FROM balances b
      JOIN unnest($1::bigint[], $2::int[]) AS t(account_id, asset_id) USING (account_id, asset_id)
      ${lock ? 'ORDER BY b.account_id, b.asset_id FOR UPDATE OF b' : ''}`,
    [numberArray(pairs.map(([accountId]) => accountId)), numberArray(pairs.map(([, assetId]) => assetId))],
  );
  for (const row of rows) {
    balances.set(balanceKey(row.account_id, row.asset_id), { balance: BigInt(row.balance), floor: row.floor === null ? null : BigInt(row.floor) });
  }
  return balances;
}

export interface RejectionRow {
  key: string;
  hash: string;
  rejection: Rejection;
}

export interface BatchInsert {
  text: string;
  values: unknown[];
  /** The chain head once this batch commits (unchanged when it creates no entry). */
  head: ChainHead;
}

/**
 * One statement for the whole batch: entries, their postings and the seal that covers them
 * (hash = SHA-256 of the previous hash and the entries' canonical lines), plus rejections.
 * PostgreSQL's triggers then move balances and re-check every invariant.
 */
export function batchInsert(
  head: ChainHead,
  entries: readonly JournalEntry[],
  rejections: readonly RejectionRow[],
  assets: Map<string, AssetInfo>,
  accountIds: Map<string, bigint>,
): BatchInsert | null {
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const ctes: string[] = [];
  let tail = 'SELECT 1';
  let nextHead = head;
  if (entries.length > 0) {
    const entryIds: bigint[] = [];
    const postingEntryIds: bigint[] = [];
    const postingIndexes: number[] = [];
    const assetIds: number[] = [];
    const sources: bigint[] = [];
    const destinations: bigint[] = [];
    const amounts: bigint[] = [];
    const hasher = new SealHasher(head.hash);
    for (const entry of entries) {
      entryIds.push(entry.id);
      for (const p of entry.postings) {
        postingEntryIds.push(entry.id);
        postingIndexes.push(p.index);
        assetIds.push(assets.get(p.asset)!.id);
        sources.push(accountIds.get(p.source)!);
        destinations.push(accountIds.get(p.destination)!);
        amounts.push(p.amount);
      }
      hasher.add(entry);
    }
    const last = entries.at(-1)!.id;
    // Most entries take the batch's time and no metadata: NULL costs PostgreSQL nothing to
    // parse, where 500 timestamps and 500 jsonb values cost ~1 ms a batch.
    const insertedAt = entries[0]!.insertedAt;
    nextHead = { sealId: head.sealId + 1n, lastEntryId: last, hash: hasher.digest() };
    ctes.push(`entries AS (INSERT INTO journal_entries
        (id, kind, idempotency_key, request_hash, effective_at, inserted_at, source_ref, metadata, reverses)
      SELECT id, kind, key, decode(hash, 'hex'), coalesce(effective_at, i.at), i.at, source_ref, coalesce(metadata, '{}'), reverses
      FROM (SELECT ${param(insertedAt)}::timestamptz AS at) i,
        unnest(${param(numberArray(entryIds))}::bigint[], ${param(entries.map((e) => e.kind))}::text[],
        ${param(entries.map((e) => e.idempotencyKey))}::text[], ${param(entries.map((e) => e.requestHash))}::text[],
        ${param(entries.map((e) => (e.effectiveAt.getTime() === insertedAt.getTime() ? null : e.effectiveAt)))}::timestamptz[],
        ${param(entries.map((e) => e.sourceRef))}::text[],
        ${param(entries.map((e) => (isEmpty(e.metadata) ? null : JSON.stringify(e.metadata))))}::jsonb[],
        ${param(numberArray(entries.map((e) => e.reverses)))}::bigint[])
        AS t(id, kind, key, hash, effective_at, source_ref, metadata, reverses))`);
    ctes.push(`postings_insert AS (INSERT INTO postings
        (entry_id, posting_index, asset_id, source_account_id, destination_account_id, amount)
      SELECT * FROM unnest(${param(numberArray(postingEntryIds))}::bigint[], ${param(numberArray(postingIndexes))}::smallint[],
        ${param(numberArray(assetIds))}::int[], ${param(numberArray(sources))}::bigint[],
        ${param(numberArray(destinations))}::bigint[], ${param(numberArray(amounts))}::numeric[]))`);
    ctes.push(`seal AS (INSERT INTO ledger_seals (id, first_entry_id, last_entry_id, encoding_version, previous_hash, hash)
      VALUES (${param(nextHead.sealId.toString())}, ${param(entries[0]!.id.toString())}, ${param(last.toString())},
        ${param(sealEncodingVersion)}, ${param(head.hash)}, ${param(nextHead.hash)}))`);
    // Delivered on commit only: followers wake up when there is something to read.
    tail = `SELECT pg_notify('coffer_ledger', ${param(last.toString())})`;
  }
  if (rejections.length > 0) {
    ctes.push(`rejected AS (INSERT INTO rejections (idempotency_key, request_hash, code, detail)
      SELECT key, decode(hash, 'hex'), code, detail FROM unnest(${param(rejections.map((r) => r.key))}::text[],
        ${param(rejections.map((r) => r.hash))}::text[], ${param(rejections.map((r) => r.rejection.code))}::text[],
        ${param(rejections.map((r) => JSON.stringify({ ...r.rejection.detail, message: r.rejection.message })))}::jsonb[])
        AS t(key, hash, code, detail))`);
  }
  if (ctes.length === 0) return null;
  return { text: `WITH ${ctes.join(',\n')} ${tail}`, values, head: nextHead };
}

function isEmpty(object: JsonObject): boolean {
  for (const key in object) if (Object.hasOwn(object, key)) return false;
  return true;
}

/**
 * A PostgreSQL array literal of integers (NULL for null). pg's generic array serialisation
 * quotes and escapes every element; for numbers that is pure overhead on the append path.
 */
function numberArray(values: readonly (bigint | number | null)[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    literal += (i === 0 ? '' : ',') + (value === null ? 'NULL' : value!.toString());
  }
  return literal + '}';
}

/** The lock a pipelined batch holds from BEGIN to COMMIT (ledger_batch_lock_* in migrations/0010). */
export const batchLockClass = 714_622;
export const batchLockKey = (sealId: bigint): number => Number(sealId % 2_147_483_647n);

/** pg_advisory lock key that makes one writer at a time the writer of the database. */
export const writerLockKey = 7_146_220_002;

const accountCacheSizeMax = 200_000;

/**
 * What the writer remembers between batches. Only committed facts: an account id or a balance
 * row from a transaction that rolled back must not leak into the next batch.
 */
export class WriterCache {
  assets = new Map<string, AssetInfo>();
  readonly accountIds = new Map<string, bigint>();
  readonly knownBalanceRows = new Set<string>();

  rememberAccounts(ids: Map<string, bigint>): void {
    if (this.accountIds.size + ids.size > accountCacheSizeMax) this.accountIds.clear();
    for (const [path, id] of ids) this.accountIds.set(path, id);
  }
}
