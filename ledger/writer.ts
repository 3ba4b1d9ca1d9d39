// The ledger writer: the only code that writes ledger tables.
//
// Appends are queued and written in micro-batches (group commit): while one batch commits, new
// appends wait, and the next batch takes all of them, up to `batchSizeMax`. A lone append is
// written at once; under load, batches grow by themselves. Each batch is one transaction:
//   1. take the writer lock (one writer per database, across processes);
//   2. look up idempotency keys (entries and recorded rejections) and the chain head;
//   3. resolve assets and accounts, lock the touched balances in a fixed order;
//   4. decide every request in order (floors are checked entry by entry, as PostgreSQL will);
//   5. insert entries, postings, rejections and the seal with one set-based statement;
//   6. commit — PostgreSQL re-checks every invariant on the way (migrations/0001_ledger.sql).
// Each caller gets its own result. A batch that fails for an unexpected reason is retried item
// by item, so one poisoned request cannot fail the others.
import type { Logger, Pool, PoolClient } from '../infra/index.ts';
import { isPgError, silentLogger, withTransaction } from '../infra/index.ts';
import { requestHash, SealHasher, sealEncodingVersion, zeroHash } from './canonical.ts';
import { LedgerClosedError, LedgerOverloadedError } from './errors.ts';
import { loadEntries } from './journal.ts';
import type { AppendRequest, AppendResult, JournalEntry, JsonObject, Rejection, RejectionCode } from './types.ts';
import { validateAppendRequest } from './validate.ts';

/** pg_advisory_xact_lock key that makes this the one writer of the database at a time. */
export const writerLockKey = 7_146_220_002;
const retryableSqlStates = new Set(['40001', '40P01', '23505']);
const accountCacheSizeMax = 200_000;

export interface LedgerWriterOptions {
  pool: Pool;
  /** Requests written in one transaction at most. */
  batchSizeMax?: number;
  /** Requests waiting at most; beyond it `append` fails fast with LedgerOverloadedError. */
  queueLengthMax?: number;
  logger?: Logger;
}

interface Decidable {
  request: AppendRequest;
  hash: string;
}

interface Pending extends Decidable {
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * A transaction that holds the writer lock: appends made through it commit or roll back
 * together with whatever else the caller writes on `client` (an indexer's cursor, an outbox
 * row), which is how a ledger change and its bookkeeping stay in step across a crash.
 */
export interface LedgerTransaction {
  /** For the caller's own tables. Ledger tables are written through `append` only. */
  readonly client: PoolClient;
  /** Decides and inserts `requests` in order, like one writer batch; a result per request. */
  append(requests: readonly AppendRequest[]): Promise<AppendResult[]>;
}

interface AssetInfo {
  id: number;
  scale: number;
}

interface Head {
  sealId: bigint;
  lastEntryId: bigint;
  hash: Buffer;
}

interface BalanceState {
  balance: bigint;
  floor: bigint | null;
}

export interface LedgerWriterStats {
  batches: number;
  appended: number;
  largestBatch: number;
}

export class LedgerWriter {
  private readonly pool: Pool;
  private readonly batchSizeMax: number;
  private readonly queueLengthMax: number;
  private readonly logger: Logger;
  private queue: Pending[] = [];
  private draining: Promise<void> | null = null;
  private closed = false;
  private assets = new Map<string, AssetInfo>();
  private readonly accountIds = new Map<string, bigint>();
  private readonly knownBalanceRows = new Set<string>();
  readonly stats: LedgerWriterStats = { batches: 0, appended: 0, largestBatch: 0 };

  constructor(options: LedgerWriterOptions) {
    this.pool = options.pool;
    this.batchSizeMax = options.batchSizeMax ?? 500;
    this.queueLengthMax = options.queueLengthMax ?? 100_000;
    this.logger = options.logger ?? silentLogger;
    if (!Number.isInteger(this.batchSizeMax) || this.batchSizeMax < 1) throw new Error('batchSizeMax must be a positive integer');
  }

  /** Validates, queues and eventually writes one request. Throws LedgerInputError at once on bad input. */
  append(request: AppendRequest): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new LedgerClosedError('the ledger writer is closed'));
    validateAppendRequest(request);
    if (this.queue.length >= this.queueLengthMax) {
      return Promise.reject(new LedgerOverloadedError(`the ledger writer has ${this.queue.length} appends waiting; retry later`));
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ request, hash: requestHash(request), resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** Appends in order; every request gets its own result. */
  appendMany(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    return Promise.all(requests.map((request) => this.append(request)));
  }

  /** Writes what is queued, then refuses further appends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
  }

  /**
   * Runs `work` in one transaction holding the writer lock. Throwing from `work` rolls back
   * everything, appends included. Unlike `append`, nothing is retried here: the caller owns
   * the transaction and decides whether to run it again.
   */
  async transaction<T>(work: (tx: LedgerTransaction) => Promise<T>): Promise<T> {
    if (this.closed) throw new LedgerClosedError('the ledger writer is closed');
    const newAccountIds = new Map<string, bigint>();
    const newBalanceRows: string[] = [];
    let created = 0;
    const result = await withTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [writerLockKey]);
      return work({
        client,
        append: async (requests) => {
          if (requests.length === 0) return [];
          for (const request of requests) validateAppendRequest(request);
          const outcome = await this.decideAndInsert(
            client,
            requests.map((request) => ({ request, hash: requestHash(request) })),
            newAccountIds,
            newBalanceRows,
          );
          created += outcome.created;
          return outcome.results;
        },
      });
    });
    this.remember(newAccountIds, newBalanceRows, created, 0);
    return result;
  }

  private remember(newAccountIds: Map<string, bigint>, newBalanceRows: string[], created: number, batchSize: number): void {
    // Only after commit are new accounts and balance rows real; caching them earlier would let
    // a rolled-back id leak into the next batch.
    if (this.accountIds.size + newAccountIds.size > accountCacheSizeMax) this.accountIds.clear();
    for (const [path, id] of newAccountIds) this.accountIds.set(path, id);
    for (const key of newBalanceRows) this.knownBalanceRows.add(key);
    this.stats.batches += 1;
    this.stats.appended += created;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batchSize);
  }

  private async drain(): Promise<void> {
    // Let appends issued in the same tick join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.batchSizeMax);
        await this.writeWithFallback(batch);
      }
    } finally {
      this.draining = null;
    }
  }

  private async writeWithFallback(batch: Pending[]): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      try {
        const results = await this.writeBatch(batch);
        batch.forEach((item, index) => item.resolve(results[index]!));
        return;
      } catch (error) {
        lastError = error;
        const retryable = isPgError(error) && retryableSqlStates.has(error.code ?? '');
        if (!retryable) break;
        this.logger.warn('ledger batch conflicted with a concurrent write; retrying', { attempt, size: batch.length });
      }
    }
    if (batch.length > 1) {
      this.logger.error('ledger batch failed; writing its requests one by one', { size: batch.length, error: lastError });
      for (const item of batch) await this.writeWithFallback([item]);
      return;
    }
    batch[0]!.reject(lastError);
  }

  private async writeBatch(batch: Pending[]): Promise<AppendResult[]> {
    const client = await this.pool.connect();
    const newAccountIds = new Map<string, bigint>();
    const newBalanceRows: string[] = [];
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [writerLockKey]);
      const outcome = await this.decideAndInsert(client, batch, newAccountIds, newBalanceRows);
      await client.query('COMMIT');
      this.remember(newAccountIds, newBalanceRows, outcome.created, batch.length);
      return outcome.results;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async decideAndInsert(
    client: PoolClient,
    batch: readonly Decidable[],
    newAccountIds: Map<string, bigint>,
    newBalanceRows: string[],
  ): Promise<{ results: AppendResult[]; created: number }> {
    const keys = [...new Set(batch.map((item) => item.request.idempotencyKey))];
    const reversalTargets = [...new Set(batch.flatMap((item) => (item.request.reverses ? [item.request.reverses.toString()] : [])))];
    const state = await readBatchState(client, keys, reversalTargets);

    const results: (AppendResult | undefined)[] = Array.from({ length: batch.length }, () => undefined);
    const firstIndexByKey = new Map<string, number>();
    const candidates: number[] = [];
    const replayIds = new Map<number, bigint>();
    batch.forEach((item, index) => {
      const key = item.request.idempotencyKey;
      const entry = state.entries.get(key);
      const rejection = state.rejections.get(key);
      if (entry) {
        if (entry.hash === item.hash) replayIds.set(index, entry.id);
        else results[index] = { status: 'conflict', idempotencyKey: key, existing: 'entry' };
      } else if (rejection) {
        results[index] =
          rejection.hash === item.hash
            ? { status: 'rejected', rejection: rejection.rejection, replayed: true }
            : { status: 'conflict', idempotencyKey: key, existing: 'rejection' };
      } else if (!firstIndexByKey.has(key)) {
        firstIndexByKey.set(key, index);
        candidates.push(index);
      }
    });

    const rejected = new Map<number, Rejection>();
    await this.ensureAssets(client, candidates.flatMap((index) => batch[index]!.request.postings.map((p) => p.asset)));
    const originals = reversalTargets.length ? await loadEntries(client, reversalTargets.map(BigInt)) : new Map<bigint, JournalEntry>();
    const reversedInBatch = new Set<bigint>();
    for (const index of candidates) {
      const request = batch[index]!.request;
      const unknown = request.postings.find((p) => !this.assets.has(p.asset));
      if (unknown) {
        rejected.set(index, reject('unknown_asset', `asset ${unknown.asset} is not registered`, { asset: unknown.asset }));
        continue;
      }
      if (request.reverses !== undefined) {
        const problem = reversalProblem(request, originals.get(request.reverses), state.reversed, reversedInBatch);
        if (problem) {
          rejected.set(index, problem);
          continue;
        }
        reversedInBatch.add(request.reverses);
      }
    }

    const accepted = candidates.filter((index) => !rejected.has(index));
    const paths = [...new Set(accepted.flatMap((index) => batch[index]!.request.postings.flatMap((p) => [p.source, p.destination])))];
    const accountIds = await this.resolveAccounts(client, paths, newAccountIds);
    const pairs = new Map<string, [bigint, number]>();
    for (const index of accepted) {
      for (const p of batch[index]!.request.postings) {
        const assetId = this.assets.get(p.asset)!.id;
        for (const path of [p.source, p.destination]) {
          const accountId = accountIds.get(path)!;
          pairs.set(`${accountId}:${assetId}`, [accountId, assetId]);
        }
      }
    }
    const balances = await this.lockBalances(client, [...pairs.values()], newBalanceRows);

    // Decide in order, entry by entry, exactly as the postings trigger will check.
    const created: { index: number; entry: JournalEntry }[] = [];
    let nextId = state.head.lastEntryId + 1n;
    for (const index of accepted) {
      const request = batch[index]!.request;
      const deltas = new Map<string, bigint>();
      for (const p of request.postings) {
        const assetId = this.assets.get(p.asset)!.id;
        const from = `${accountIds.get(p.source)!}:${assetId}`;
        const to = `${accountIds.get(p.destination)!}:${assetId}`;
        deltas.set(from, (deltas.get(from) ?? 0n) - p.amount);
        deltas.set(to, (deltas.get(to) ?? 0n) + p.amount);
      }
      const breach = findFloorBreach(request, deltas, balances, accountIds, this.assets);
      if (breach) {
        rejected.set(index, breach);
        continue;
      }
      for (const [key, delta] of deltas) balances.get(key)!.balance += delta;
      created.push({
        index,
        entry: {
          id: nextId,
          kind: request.kind,
          idempotencyKey: request.idempotencyKey,
          requestHash: batch[index]!.hash,
          effectiveAt: request.effectiveAt ?? state.now,
          insertedAt: state.now,
          sourceRef: request.sourceRef ?? null,
          metadata: request.metadata ?? {},
          reverses: request.reverses ?? null,
          postings: request.postings.map((p, i) => ({ index: i, source: p.source, destination: p.destination, asset: p.asset, amount: p.amount })),
        },
      });
      nextId += 1n;
    }

    await this.insertBatch(client, state.head, created.map((c) => c.entry), [...rejected].map(([index, rejection]) => ({
      key: batch[index]!.request.idempotencyKey,
      hash: batch[index]!.hash,
      rejection,
    })), accountIds);

    for (const { index, entry } of created) results[index] = { status: 'created', entry };
    for (const [index, rejection] of rejected) results[index] = { status: 'rejected', rejection, replayed: false };
    if (replayIds.size > 0) {
      const originalsById = await loadEntries(client, [...replayIds.values()]);
      for (const [index, id] of replayIds) results[index] = { status: 'replayed', entry: originalsById.get(id)! };
    }
    // A key seen twice in one batch: the later request is answered like a retry of the first.
    batch.forEach((item, index) => {
      if (results[index]) return;
      const first = firstIndexByKey.get(item.request.idempotencyKey)!;
      const firstResult = results[first]!;
      const sameRequest = batch[first]!.hash === item.hash;
      if (!sameRequest) {
        results[index] = {
          status: 'conflict',
          idempotencyKey: item.request.idempotencyKey,
          existing: firstResult.status === 'rejected' ? 'rejection' : 'entry',
        };
      } else if (firstResult.status === 'created' || firstResult.status === 'replayed') {
        results[index] = { status: 'replayed', entry: firstResult.entry };
      } else if (firstResult.status === 'rejected') {
        results[index] = { status: 'rejected', rejection: firstResult.rejection, replayed: true };
      } else {
        results[index] = firstResult;
      }
    });
    return { results: results as AppendResult[], created: created.length };
  }

  private async ensureAssets(client: PoolClient, codes: string[]): Promise<void> {
    if (codes.every((code) => this.assets.has(code))) return;
    const { rows } = await client.query<{ code: string; id: number; scale: number }>('SELECT code, id, scale FROM assets');
    this.assets = new Map(rows.map((row) => [row.code, { id: row.id, scale: row.scale }]));
  }

  private async resolveAccounts(client: PoolClient, paths: string[], newAccountIds: Map<string, bigint>): Promise<Map<string, bigint>> {
    const ids = new Map<string, bigint>();
    const missing: string[] = [];
    for (const path of paths) {
      const id = this.accountIds.get(path);
      if (id === undefined) missing.push(path);
      else ids.set(path, id);
    }
    if (missing.length > 0) {
      await client.query('INSERT INTO accounts (path) SELECT unnest($1::text[]) ON CONFLICT (path) DO NOTHING', [missing]);
      const { rows } = await client.query<{ id: bigint; path: string }>('SELECT id, path FROM accounts WHERE path = ANY($1::text[])', [missing]);
      for (const row of rows) {
        ids.set(row.path, row.id);
        newAccountIds.set(row.path, row.id);
      }
    }
    return ids;
  }

  private async lockBalances(client: PoolClient, pairs: [bigint, number][], newBalanceRows: string[]): Promise<Map<string, BalanceState>> {
    const balances = new Map<string, BalanceState>();
    if (pairs.length === 0) return balances;
    const accountIds = pairs.map(([accountId]) => accountId.toString());
    const assetIds = pairs.map(([, assetId]) => assetId);
    const unknown = pairs.filter(([accountId, assetId]) => !this.knownBalanceRows.has(`${accountId}:${assetId}`));
    if (unknown.length > 0) {
      await client.query(
        `INSERT INTO balances (account_id, asset_id) SELECT * FROM unnest($1::bigint[], $2::int[]) ON CONFLICT DO NOTHING`,
        [unknown.map(([accountId]) => accountId.toString()), unknown.map(([, assetId]) => assetId)],
      );
      for (const [accountId, assetId] of unknown) newBalanceRows.push(`${accountId}:${assetId}`);
    }
    // A fixed lock order means two writers (or a writer and a person with psql) cannot deadlock.
    const { rows } = await client.query<{ account_id: bigint; asset_id: number; balance: string; floor: string | null }>(
      `SELECT b.account_id, b.asset_id, b.balance::text, b.floor::text FROM balances b
        JOIN unnest($1::bigint[], $2::int[]) AS t(account_id, asset_id) USING (account_id, asset_id)
        ORDER BY b.account_id, b.asset_id FOR UPDATE OF b`,
      [accountIds, assetIds],
    );
    for (const row of rows) {
      balances.set(`${row.account_id}:${row.asset_id}`, { balance: BigInt(row.balance), floor: row.floor === null ? null : BigInt(row.floor) });
    }
    return balances;
  }

  private async insertBatch(
    client: PoolClient,
    head: Head,
    entries: JournalEntry[],
    rejections: { key: string; hash: string; rejection: Rejection }[],
    accountIds: Map<string, bigint>,
  ): Promise<void> {
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const ctes: string[] = [];
    let tail = 'SELECT 1';
    if (entries.length > 0) {
      const postings = entries.flatMap((entry) => entry.postings.map((p) => ({ entryId: entry.id, p })));
      ctes.push(`entries AS (INSERT INTO journal_entries
          (id, kind, idempotency_key, request_hash, effective_at, inserted_at, source_ref, metadata, reverses)
        SELECT id, kind, key, decode(hash, 'hex'), effective_at, ${param(entries[0]!.insertedAt)}::timestamptz, source_ref, metadata, reverses
        FROM unnest(${param(entries.map((e) => e.id.toString()))}::bigint[], ${param(entries.map((e) => e.kind))}::text[],
          ${param(entries.map((e) => e.idempotencyKey))}::text[], ${param(entries.map((e) => e.requestHash))}::text[],
          ${param(entries.map((e) => e.effectiveAt))}::timestamptz[], ${param(entries.map((e) => e.sourceRef))}::text[],
          ${param(entries.map((e) => JSON.stringify(e.metadata)))}::jsonb[], ${param(entries.map((e) => e.reverses?.toString() ?? null))}::bigint[])
          AS t(id, kind, key, hash, effective_at, source_ref, metadata, reverses))`);
      ctes.push(`postings_insert AS (INSERT INTO postings
          (entry_id, posting_index, asset_id, source_account_id, destination_account_id, amount)
        SELECT * FROM unnest(${param(postings.map(({ entryId }) => entryId.toString()))}::bigint[],
          ${param(postings.map(({ p }) => p.index))}::smallint[],
          ${param(postings.map(({ p }) => this.assets.get(p.asset)!.id))}::int[],
          ${param(postings.map(({ p }) => accountIds.get(p.source)!.toString()))}::bigint[],
          ${param(postings.map(({ p }) => accountIds.get(p.destination)!.toString()))}::bigint[],
          ${param(postings.map(({ p }) => p.amount.toString()))}::numeric[]))`);
      const hasher = new SealHasher(head.hash);
      for (const entry of entries) hasher.add(entry);
      const last = entries.at(-1)!.id;
      ctes.push(`seal AS (INSERT INTO ledger_seals (id, first_entry_id, last_entry_id, encoding_version, previous_hash, hash)
        VALUES (${param((head.sealId + 1n).toString())}, ${param(entries[0]!.id.toString())}, ${param(last.toString())},
          ${param(sealEncodingVersion)}, ${param(head.hash)}, ${param(hasher.digest())}))`);
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
    if (ctes.length === 0) return;
    await client.query(`WITH ${ctes.join(',\n')} ${tail}`, params);
  }
}

function reject(code: RejectionCode, message: string, detail: JsonObject): Rejection {
  return { code, message, detail };
}

function reversalProblem(
  request: AppendRequest,
  original: JournalEntry | undefined,
  reversedInDatabase: Set<bigint>,
  reversedInBatch: Set<bigint>,
): Rejection | null {
  const target = request.reverses!;
  if (!original) return reject('reversal_target_missing', `journal entry ${target} does not exist`, { reverses: target.toString() });
  if (reversedInDatabase.has(target) || reversedInBatch.has(target)) {
    return reject('already_reversed', `journal entry ${target} has already been reversed`, { reverses: target.toString() });
  }
  const mirrors =
    original.postings.length === request.postings.length &&
    original.postings.every((o, i) => {
      const p = request.postings[i]!;
      return p.source === o.destination && p.destination === o.source && p.asset === o.asset && p.amount === o.amount;
    });
  if (!mirrors) {
    return reject('reversal_mismatch', `a reversal must mirror every posting of entry ${target}`, { reverses: target.toString() });
  }
  return null;
}

function findFloorBreach(
  request: AppendRequest,
  deltas: Map<string, bigint>,
  balances: Map<string, BalanceState>,
  accountIds: Map<string, bigint>,
  assets: Map<string, AssetInfo>,
): Rejection | null {
  for (const [key, delta] of deltas) {
    const state = balances.get(key)!;
    if (state.floor === null || delta >= 0n || state.balance + delta >= state.floor) continue;
    const posting = request.postings.find((p) => `${accountIds.get(p.source)!}:${assets.get(p.asset)!.id}` === key)!;
    return reject('floor_breach', `${posting.source} would go below its floor in ${posting.asset}`, {
      account: posting.source,
      asset: posting.asset,
      balance: state.balance.toString(),
      floor: state.floor.toString(),
      shortfall: (state.floor - (state.balance + delta)).toString(),
    });
  }
  return null;
}

interface BatchState {
  now: Date;
  head: Head;
  entries: Map<string, { id: bigint; hash: string }>;
  rejections: Map<string, { hash: string; rejection: Rejection }>;
  reversed: Set<bigint>;
}

async function readBatchState(client: PoolClient, keys: string[], reversalTargets: string[]): Promise<BatchState> {
  const { rows } = await client.query<{
    now: Date;
    head: { id: string; last_entry_id: string; hash: string } | null;
    entries: { key: string; id: string; hash: string }[];
    rejections: { key: string; hash: string; code: RejectionCode; detail: JsonObject & { message?: string } }[];
    reversed: string[];
  }>(
    `SELECT date_trunc('milliseconds', now()) AS now,
      (SELECT json_build_object('id', id::text, 'last_entry_id', last_entry_id::text, 'hash', encode(hash, 'hex'))
         FROM ledger_seals ORDER BY id DESC LIMIT 1) AS head,
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
    head: row.head
      ? { sealId: BigInt(row.head.id), lastEntryId: BigInt(row.head.last_entry_id), hash: Buffer.from(row.head.hash, 'hex') }
      : { sealId: 0n, lastEntryId: 0n, hash: zeroHash },
    entries: new Map(row.entries.map((e) => [e.key, { id: BigInt(e.id), hash: e.hash }])),
    rejections: new Map(
      row.rejections.map((r) => {
        const { message, ...detail } = r.detail;
        return [r.key, { hash: r.hash, rejection: { code: r.code, message: message ?? r.code, detail } }];
      }),
    ),
    reversed: new Set(row.reversed.map(BigInt)),
  };
}
