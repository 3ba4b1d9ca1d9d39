// The ledger writer: the only code that writes ledger tables.
//
// Appends are queued and written in micro-batches (group commit): while one batch commits, new
// appends wait, and the next batch takes all of them, up to `batchSizeMax`. A lone append is
// written at once; under load, batches grow by themselves. Every batch is one transaction whose
// entries, postings, rejections and seal go in with one set-based statement, after which
// PostgreSQL re-checks every invariant (migrations/0001_ledger.sql, 0010).
//
// Two paths decide a batch (ledger/decide.ts holds the decisions both share):
//   * pipelined (ledger/pipeline.ts), the usual one: a run holds the writer lock for a while and
//     keeps two batches in flight, deciding from memory;
//   * careful (here), for what a run cannot decide alone — replays of earlier keys, reversals,
//     anything a run gave back after a failure — and for `transaction()`: in one transaction,
//     take the writer lock, read idempotency keys, the chain head and the locked balances, then
//     decide and insert. A careful batch that fails for an unexpected reason is retried item by
//     item, so one poisoned request cannot fail the others.
import type { Logger, Pool, PoolClient } from '../infra/index.ts';
import { isPgError, silentLogger, withTransaction } from '../infra/index.ts';
import {
  batchInsert,
  ensureAccounts,
  ensureBalanceRows,
  loadAssets,
  readBalances,
  readBatchState,
  WriterCache,
  writerLockKey,
} from './append-sql.ts';
import { requestHash } from './canonical.ts';
import { assembleResults, balanceKey, decideInOrder, screen, triage, type BatchItem } from './decide.ts';
import { LedgerClosedError, LedgerOverloadedError } from './errors.ts';
import { loadEntries } from './journal.ts';
import { eligible, runPipelined, type PendingAppend } from './pipeline.ts';
import type { AppendRequest, AppendResult, JournalEntry, Rejection } from './types.ts';
import { validateAppendRequest } from './validate.ts';

export { writerLockKey };
const retryableSqlStates = new Set(['40001', '40P01', '23505']);

export interface LedgerWriterOptions {
  pool: Pool;
  /** Requests written in one transaction at most. */
  batchSizeMax?: number;
  /** Requests waiting at most; beyond it `append` fails fast with LedgerOverloadedError. */
  queueLengthMax?: number;
  logger?: Logger;
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

export interface LedgerWriterStats {
  batches: number;
  appended: number;
  largestBatch: number;
  /** Batches a pipelined run gave back to the careful path (a replayed key, a failure). */
  handedBack: number;
}

/** Balance rows and account ids a careful transaction created; remembered once it commits. */
interface CarefulCreations {
  accountIds: Map<string, bigint>;
  balanceRows: Set<string>;
}

export class LedgerWriter {
  private readonly pool: Pool;
  private readonly batchSizeMax: number;
  private readonly queueLengthMax: number;
  private readonly logger: Logger;
  private readonly cache = new WriterCache();
  private queue: PendingAppend[] = [];
  private draining: Promise<void> | null = null;
  private closed = false;
  readonly stats: LedgerWriterStats = { batches: 0, appended: 0, largestBatch: 0, handedBack: 0 };

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
      // The request hash is computed when the request joins a batch, while PostgreSQL writes
      // the previous one, rather than here for a burst of appends all at once.
      this.queue.push({ item: { request, hash: '' }, careful: false, resolve, reject });
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
    const creations: CarefulCreations = { accountIds: new Map(), balanceRows: new Set() };
    let created = 0;
    const result = await withTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [writerLockKey]);
      return work({
        client,
        append: async (requests) => {
          if (requests.length === 0) return [];
          for (const request of requests) validateAppendRequest(request);
          const outcome = await this.decideCarefully(
            client,
            requests.map((request) => ({ request, hash: requestHash(request) })),
            creations,
          );
          created += outcome.created;
          return outcome.results;
        },
      });
    });
    this.remember(creations, created, 0);
    return result;
  }

  private remember(creations: CarefulCreations, created: number, batchSize: number): void {
    // Only after commit are new accounts and balance rows real; caching them earlier would let
    // a rolled-back id leak into the next batch.
    this.cache.rememberAccounts(creations.accountIds);
    for (const key of creations.balanceRows) this.cache.knownBalanceRows.add(key);
    this.countBatch(batchSize, created);
  }

  private countBatch(size: number, created: number): void {
    this.stats.batches += 1;
    this.stats.appended += created;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, size);
  }

  private async drain(): Promise<void> {
    // Let appends issued in the same tick join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.queue.length > 0) {
        if (eligible(this.queue[0]!, new Set())) {
          const handedBack = await runPipelined({
            pool: this.pool,
            cache: this.cache,
            logger: this.logger,
            depth: this.pool.options.max >= 3 ? 2 : 1,
            take: (keys) => this.takeForRun(keys),
            onCommitted: (size, created) => this.countBatch(size, created),
          }).catch((error: unknown) => {
            // The run could not even start (no connection, no lock): its requests were not
            // taken off the queue, so the careful path below meets the same trouble and
            // answers each request with it.
            this.logger.warn('ledger run failed to start; writing carefully', { error });
            for (const pending of this.queue) pending.careful = true;
            return [];
          });
          if (handedBack.length > 0) {
            this.stats.handedBack += 1;
            for (const pending of handedBack) pending.careful = true;
            this.queue = [...handedBack, ...this.queue];
          }
        } else {
          const batch = withHashes(this.queue.splice(0, this.batchSizeMax));
          if (batch.length > 0) await this.writeWithFallback(batch);
        }
      }
    } finally {
      this.draining = null;
    }
  }

  /** The next batch for a pipelined run: queued requests up to the first it cannot decide alone. */
  private takeForRun(keys: Set<string>): PendingAppend[] {
    let count = 0;
    while (count < this.batchSizeMax && count < this.queue.length) {
      const pending = this.queue[count]!;
      if (!eligible(pending, keys)) {
        // A reversal, or a key this run wrote already (a replay or a conflict): the careful
        // path answers it, so the run ends before it.
        pending.careful = true;
        break;
      }
      count += 1;
    }
    return withHashes(this.queue.splice(0, count));
  }

  private async writeWithFallback(batch: PendingAppend[]): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      try {
        const results = await this.writeCarefully(batch.map((pending) => pending.item));
        batch.forEach((pending, index) => pending.resolve(results[index]!));
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
      for (const pending of batch) await this.writeWithFallback([pending]);
      return;
    }
    batch[0]!.reject(lastError);
  }

  private async writeCarefully(batch: BatchItem[]): Promise<AppendResult[]> {
    const client = await this.pool.connect();
    const creations: CarefulCreations = { accountIds: new Map(), balanceRows: new Set() };
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [writerLockKey]);
      const outcome = await this.decideCarefully(client, batch, creations);
      await client.query('COMMIT');
      this.remember(creations, outcome.created, batch.length);
      return outcome.results;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** The careful path: everything read from PostgreSQL under the writer lock `client` holds. */
  private async decideCarefully(
    client: PoolClient,
    batch: readonly BatchItem[],
    creations: CarefulCreations,
  ): Promise<{ results: AppendResult[]; created: number }> {
    const keys = [...new Set(batch.map((item) => item.request.idempotencyKey))];
    const reversalTargets = [...new Set(batch.flatMap((item) => (item.request.reverses ? [item.request.reverses.toString()] : [])))];
    const state = await readBatchState(client, keys, reversalTargets);
    const triaged = triage(batch, state.known);

    const codes = triaged.candidates.flatMap((index) => batch[index]!.request.postings.map((p) => p.asset));
    if (codes.some((code) => !this.cache.assets.has(code))) this.cache.assets = await loadAssets(client);
    const originals = reversalTargets.length ? await loadEntries(client, reversalTargets.map(BigInt)) : new Map<bigint, JournalEntry>();
    const { accepted, rejected: refused } = screen(batch, triaged.candidates, this.cache.assets, { originals, reversedInDatabase: state.reversed });

    const paths = [...new Set(accepted.flatMap((index) => batch[index]!.request.postings.flatMap((p) => [p.source, p.destination])))];
    const accountIds = new Map<string, bigint>();
    const missing: string[] = [];
    for (const path of paths) {
      const id = this.cache.accountIds.get(path) ?? creations.accountIds.get(path);
      if (id === undefined) missing.push(path);
      else accountIds.set(path, id);
    }
    if (missing.length > 0) {
      for (const [path, id] of await ensureAccounts(client, missing)) {
        accountIds.set(path, id);
        creations.accountIds.set(path, id);
      }
    }
    const pairs = new Map<string, [bigint, number]>();
    for (const index of accepted) {
      for (const p of batch[index]!.request.postings) {
        const assetId = this.cache.assets.get(p.asset)!.id;
        for (const path of [p.source, p.destination]) {
          const accountId = accountIds.get(path)!;
          pairs.set(balanceKey(accountId, assetId), [accountId, assetId]);
        }
      }
    }
    const unknown = [...pairs].filter(([key]) => !this.cache.knownBalanceRows.has(key) && !creations.balanceRows.has(key));
    if (unknown.length > 0) {
      await ensureBalanceRows(client, unknown.map(([, pair]) => pair));
      for (const [key] of unknown) creations.balanceRows.add(key);
    }
    const balances = await readBalances(client, [...pairs.values()], true);

    const { created, rejected } = decideInOrder({
      batch,
      accepted,
      assets: this.cache.assets,
      accountIds,
      balances,
      firstEntryId: state.head.lastEntryId + 1n,
      now: state.now,
    });
    const rejections = new Map<number, Rejection>([...refused, ...rejected]);
    const insert = batchInsert(
      state.head,
      created.map((c) => c.entry),
      [...rejections].map(([index, rejection]) => ({ key: batch[index]!.request.idempotencyKey, hash: batch[index]!.hash, rejection })),
      this.cache.assets,
      accountIds,
    );
    if (insert) await client.query(insert.text, insert.values);

    const replayed = new Map<number, JournalEntry>();
    if (triaged.replayIds.size > 0) {
      const originalsById = await loadEntries(client, [...triaged.replayIds.values()]);
      for (const [index, id] of triaged.replayIds) replayed.set(index, originalsById.get(id)!);
    }
    return { results: assembleResults(batch, triaged, created, rejections, replayed), created: created.length };
  }
}

/**
 * Fills in request hashes (computed as requests join a batch, not when they are appended). A
 * request whose hash cannot be computed is answered with the error instead of being lost.
 */
function withHashes(batch: PendingAppend[]): PendingAppend[] {
  return batch.filter((pending) => {
    try {
      pending.item.hash ||= requestHash(pending.item.request);
      return true;
    } catch (error) {
      pending.reject(error);
      return false;
    }
  });
}
