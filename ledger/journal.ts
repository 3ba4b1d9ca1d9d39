// Reading journal entries back: by id, by idempotency key, and as filtered, cursor-paginated
// lists. Accounts and assets are returned by path and code, never by internal id.
import { run, runFirst, sqlBuilder, type Queryable } from '../infra/index.ts';
import { likeEscape, parseAccountSelector } from './accounts.ts';
import type { JournalEntry, JsonObject, Posting } from './types.ts';

export interface EntryRow {
  id: bigint;
  kind: string;
  idempotency_key: string;
  request_hash: string;
  effective_ms: bigint;
  inserted_ms: bigint;
  source_ref: string | null;
  metadata: JsonObject;
  reverses: bigint | null;
}

export interface PostingRow {
  entry_id: bigint;
  posting_index: number;
  source: string;
  destination: string;
  asset: string;
  amount: string;
}

// Timestamps as epoch milliseconds: parsing timestamptz text into Dates was the largest single
// cost of reading a long journal (verify), and the ledger stores milliseconds anyway.
export const entryColumns = `e.id, e.kind, e.idempotency_key, encode(e.request_hash, 'hex') AS request_hash,
  floor(extract(epoch FROM e.effective_at) * 1000)::bigint AS effective_ms,
  floor(extract(epoch FROM e.inserted_at) * 1000)::bigint AS inserted_ms,
  e.source_ref, e.metadata, e.reverses`;

export const postingsWithNamesSql = `SELECT p.entry_id, p.posting_index, sa.path AS source, da.path AS destination,
    s.code AS asset, p.amount::text AS amount
  FROM postings p
  JOIN accounts sa ON sa.id = p.source_account_id
  JOIN accounts da ON da.id = p.destination_account_id
  JOIN assets s ON s.id = p.asset_id`;

export function toPosting(row: PostingRow): Posting {
  return { index: row.posting_index, source: row.source, destination: row.destination, asset: row.asset, amount: BigInt(row.amount) };
}

export function toEntry(row: EntryRow, postings: Posting[]): JournalEntry {
  return {
    id: row.id,
    kind: row.kind,
    idempotencyKey: row.idempotency_key,
    requestHash: row.request_hash,
    effectiveAt: new Date(Number(row.effective_ms)),
    insertedAt: new Date(Number(row.inserted_ms)),
    sourceRef: row.source_ref,
    metadata: row.metadata,
    reverses: row.reverses,
    postings,
  };
}

async function attachPostings(db: Queryable, rows: EntryRow[]): Promise<JournalEntry[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id.toString());
  const { rows: postingRows } = await db.query<PostingRow>(
    `${postingsWithNamesSql} WHERE p.entry_id = ANY($1::bigint[]) ORDER BY p.entry_id, p.posting_index`,
    [ids],
  );
  const byEntry = groupPostings(postingRows);
  return rows.map((row) => toEntry(row, byEntry.get(row.id) ?? []));
}

/** Postings rows (ordered by entry and index) grouped by entry id. */
export function groupPostings(rows: PostingRow[]): Map<bigint, Posting[]> {
  const byEntry = new Map<bigint, Posting[]>();
  for (const row of rows) {
    const list = byEntry.get(row.entry_id);
    if (list) list.push(toPosting(row));
    else byEntry.set(row.entry_id, [toPosting(row)]);
  }
  return byEntry;
}

export async function loadEntries(db: Queryable, ids: readonly bigint[]): Promise<Map<bigint, JournalEntry>> {
  const { rows } = await db.query<EntryRow>(`SELECT ${entryColumns} FROM journal_entries e WHERE e.id = ANY($1::bigint[])`, [
    ids.map(String),
  ]);
  const entries = await attachPostings(db, rows);
  return new Map(entries.map((entry) => [entry.id, entry]));
}

export async function getEntry(db: Queryable, id: bigint): Promise<JournalEntry | null> {
  return (await loadEntries(db, [id])).get(id) ?? null;
}

export async function getEntryByIdempotencyKey(db: Queryable, key: string): Promise<JournalEntry | null> {
  const { rows } = await db.query<EntryRow>(`SELECT ${entryColumns} FROM journal_entries e WHERE e.idempotency_key = $1`, [key]);
  return (await attachPostings(db, rows))[0] ?? null;
}

export interface EntryFilter {
  /** An account path or selector (`users:42:*`): entries with a posting from or to it. */
  account?: string;
  asset?: string;
  kind?: string;
  /** effective_at ≥ from */
  from?: Date;
  /** effective_at < to */
  to?: Date;
  /** Entries with id greater than this (the cursor of the previous page). */
  after?: bigint;
  /** Entries with id at most this (a fixed end for exports). */
  throughSequence?: bigint;
  limit: number;
}

/** Entries in journal order; the last id of a page is the cursor for the next. */
export async function listEntries(db: Queryable, filter: EntryFilter): Promise<JournalEntry[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.after !== undefined) where.push(`e.id > ${param(filter.after.toString())}`);
  if (filter.throughSequence !== undefined) where.push(`e.id <= ${param(filter.throughSequence.toString())}`);
  if (filter.kind !== undefined) where.push(`e.kind = ${param(filter.kind)}`);
  if (filter.from !== undefined) where.push(`e.effective_at >= ${param(filter.from)}`);
  if (filter.to !== undefined) where.push(`e.effective_at < ${param(filter.to)}`);
  const postingConditions: string[] = [];
  if (filter.asset !== undefined) postingConditions.push(`s.code = ${param(filter.asset)}`);
  if (filter.account !== undefined) {
    const selector = parseAccountSelector(filter.account);
    const accountMatch =
      selector.regex === null
        ? `a.path = ${param(selector.text)}`
        : `a.path LIKE ${param(likeEscape(selector.likePrefix) + '%')} AND a.path ~ ${param(selector.regex)}`;
    postingConditions.push(`EXISTS (SELECT 1 FROM accounts a WHERE a.id IN (p.source_account_id, p.destination_account_id) AND ${accountMatch})`);
  }
  if (postingConditions.length > 0) {
    where.push(`EXISTS (SELECT 1 FROM postings p JOIN assets s ON s.id = p.asset_id
      WHERE p.entry_id = e.id AND ${postingConditions.join(' AND ')})`);
  }
  const sql = `SELECT ${entryColumns} FROM journal_entries e
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY e.id LIMIT ${param(filter.limit)}`;
  const { rows } = await db.query<EntryRow>(sql, params);
  return attachPostings(db, rows);
}

export async function journalHead(db: Queryable): Promise<bigint> {
  const { rows } = await db.query<{ head: bigint | null }>('SELECT max(id) AS head FROM journal_entries');
  return rows[0]?.head ?? 0n;
}

/** Which of `keys` the journal holds already (a block read again after a restart, a rescan). */
export async function knownIdempotencyKeys(db: Queryable, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await run(db, sqlBuilder.selectFrom('journal_entries').select('idempotency_key').where('idempotency_key', 'in', [...keys]));
  return new Set(rows.map((row) => row.idempotency_key));
}

/** Whether an entry reverses entry `entryId` (an operator rewind took it back). */
export async function isReversed(db: Queryable, entryId: bigint): Promise<boolean> {
  const row = await runFirst(db, sqlBuilder.selectFrom('journal_entries').select('id').where('reverses', '=', entryId).limit(1));
  return row !== undefined;
}

/** How many journal entries of `kind` there are (benchmarks check they measured the run they meant). */
export async function countEntries(db: Queryable, kind: string): Promise<bigint> {
  const row = await runFirst(db, sqlBuilder.selectFrom('journal_entries').select((eb) => eb.fn.countAll<bigint>().as('n')).where('kind', '=', kind));
  return BigInt(row?.n ?? 0);
}
