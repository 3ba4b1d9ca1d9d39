// Reading journal entries back: by id, by idempotency key, and as filtered, cursor-paginated
// lists. Accounts and assets are returned by path and code, never by internal id.
import { run, runFirst, sql, sqlBuilder, type Queryable } from '../infra/index.ts';
import { pathMatches } from './accounts.ts';
import type { JournalEntry, JsonObject, Posting } from './types.ts';

// Timestamps as epoch milliseconds: parsing timestamptz text into Dates was the largest single
// cost of reading a long journal (verify), and the ledger stores milliseconds anyway.
const entriesSelect = sqlBuilder
  .selectFrom('journal_entries as e')
  .select([
    'e.id',
    'e.kind',
    'e.idempotency_key',
    sql<string>`encode(e.request_hash, 'hex')`.as('request_hash'),
    sql<bigint>`floor(extract(epoch FROM e.effective_at) * 1000)::bigint`.as('effective_ms'),
    sql<bigint>`floor(extract(epoch FROM e.inserted_at) * 1000)::bigint`.as('inserted_ms'),
    'e.source_ref',
    // The table's CHECK keeps metadata an object.
    sql<JsonObject>`e.metadata`.as('metadata'),
    'e.reverses',
  ]);
export type EntryRow = Awaited<ReturnType<typeof run<typeof entriesSelect>>>[number];

const postingsWithNames = sqlBuilder
  .selectFrom('postings as p')
  .innerJoin('accounts as sa', 'sa.id', 'p.source_account_id')
  .innerJoin('accounts as da', 'da.id', 'p.destination_account_id')
  .innerJoin('assets as s', 's.id', 'p.asset_id')
  .select(['p.entry_id', 'p.posting_index', 'sa.path as source', 'da.path as destination', 's.code as asset', sql<string>`p.amount::text`.as('amount')]);
export type PostingRow = Awaited<ReturnType<typeof run<typeof postingsWithNames>>>[number];

/** `column = any($1::bigint[])`: one parameter however many ids (an IN list would bind one each). */
const anyId = (ids: readonly bigint[]) => sql<bigint>`any(${ids.map(String)}::bigint[])`;

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
  const postingRows = await run(db, postingsWithNames.where('p.entry_id', '=', anyId(rows.map((row) => row.id))).orderBy('p.entry_id').orderBy('p.posting_index'));
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
  if (ids.length === 0) return new Map();
  const entries = await attachPostings(db, await run(db, entriesSelect.where('e.id', '=', anyId(ids))));
  return new Map(entries.map((entry) => [entry.id, entry]));
}

export async function getEntry(db: Queryable, id: bigint): Promise<JournalEntry | null> {
  return (await loadEntries(db, [id])).get(id) ?? null;
}

export async function getEntryByIdempotencyKey(db: Queryable, key: string): Promise<JournalEntry | null> {
  return (await getEntriesByIdempotencyKeys(db, [key]))[0] ?? null;
}

/** The entries booked under any of `keys`, in journal order. */
export async function getEntriesByIdempotencyKeys(db: Queryable, keys: readonly string[]): Promise<JournalEntry[]> {
  if (keys.length === 0) return [];
  return attachPostings(db, await run(db, entriesSelect.where('e.idempotency_key', '=', sql<string>`any(${[...keys]}::text[])`).orderBy('e.id')));
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
  let query = entriesSelect;
  if (filter.after !== undefined) query = query.where('e.id', '>', filter.after);
  if (filter.throughSequence !== undefined) query = query.where('e.id', '<=', filter.throughSequence);
  if (filter.kind !== undefined) query = query.where('e.kind', '=', filter.kind);
  if (filter.from !== undefined) query = query.where('e.effective_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('e.effective_at', '<', filter.to);
  const { asset, account } = filter;
  if (asset !== undefined || account !== undefined) {
    query = query.where((outer) => {
      let postings = outer.selectFrom('postings as p').innerJoin('assets as s', 's.id', 'p.asset_id').select('p.entry_id').whereRef('p.entry_id', '=', 'e.id');
      if (asset !== undefined) postings = postings.where('s.code', '=', asset);
      if (account !== undefined) {
        postings = postings.where((inner) =>
          inner.exists(
            inner.selectFrom('accounts as a')
              .select('a.id')
              .where((eb) => eb.or([eb('a.id', '=', eb.ref('p.source_account_id')), eb('a.id', '=', eb.ref('p.destination_account_id'))]))
              .where(pathMatches('a.path', account)),
          ),
        );
      }
      return outer.exists(postings);
    });
  }
  return attachPostings(db, await run(db, query.orderBy('e.id').limit(filter.limit)));
}

export async function journalHead(db: Queryable): Promise<bigint> {
  const row = await runFirst(db, sqlBuilder.selectFrom('journal_entries').select((eb) => eb.fn.max('id').as('head')));
  return row?.head ?? 0n;
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
