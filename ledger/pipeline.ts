// The writer's pipelined path: a "run" holds the writer lock for a while (a session-level
// advisory lock, so no other writer can append meanwhile) and keeps up to two batches in
// flight on two connections:
//
//   lane A  BEGIN; INSERT batch n ········ COMMIT n
//   lane B            BEGIN; INSERT batch n+1 ···(waits for n's balance rows)··· COMMIT n+1
//
// While PostgreSQL writes one batch, this process decides the next. That is safe because,
// under the lock, the run is the only writer: the chain head, the next entry id and the
// balances it has touched are all known in memory, so nothing needs reading back per batch.
// Batches commit strictly in order; if one fails, every batch after it rolls back, the run
// ends, and the writer decides those requests again on its careful path (writer.ts), which
// reads everything under a fresh lock. Idempotency keys are not read up front either: a key
// used before makes the insert fail (PostgreSQL refuses it, migrations/0010), and the careful
// path then answers the replay or the conflict. Reversals always take the careful path.
import type { Logger, Pool, PoolClient } from '../infra/index.ts';
import {
  batchInsert,
  ensureAccounts,
  ensureBalanceRows,
  loadAssets,
  readBalances,
  readHead,
  writerLockKey,
  batchLockClass,
  batchLockKey,
  type ChainHead,
  type WriterCache,
} from './append-sql.ts';
import { assembleResults, balanceKey, decideInOrder, screen, triage, type BalanceState, type BatchItem } from './decide.ts';
import type { AppendResult, Rejection } from './types.ts';

/** A queued append. `careful` sends it (and the batch it lands in) down the careful path. */
export interface PendingAppend {
  item: BatchItem;
  careful: boolean;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

export interface RunOptions {
  pool: Pool;
  cache: WriterCache;
  logger: Logger;
  /** Batches in flight at most (1 or 2; two connections only help on a pool of three or more). */
  depth: number;
  /**
   * The next batch this run may write, taken off the writer's queue: stops before a request the
   * run cannot decide alone (see `eligible`). `keys` are the keys this run has written.
   */
  take: (keys: Set<string>) => PendingAppend[];
  onCommitted: (size: number, created: number) => void;
}

/** How long one run keeps the writer lock before letting other writers in. */
const runTimeMaxMs = 250;
/** Balances one run keeps in memory at most; past it the run ends and the cache is dropped. */
const runBalancesMax = 100_000;

/** Whether the pipelined path can decide `pending` on its own in a run that wrote `keys`. */
export function eligible(pending: PendingAppend, keys: Set<string>): boolean {
  return !pending.careful && pending.item.request.reverses === undefined && !keys.has(pending.item.request.idempotencyKey);
}

interface Lane {
  client: PoolClient;
  /** Settles when the lane's last batch has committed or rolled back. */
  idle: Promise<void>;
  broken: boolean;
}

/**
 * One run. Resolves with the requests of batches that did not commit, in queue order, for the
 * careful path; everything else has been answered.
 */
export async function runPipelined(runOptions: RunOptions): Promise<PendingAppend[]> {
  let options = runOptions;
  const { pool, cache, logger } = options;
  const leader: Lane = { client: await pool.connect(), idle: Promise.resolve(), broken: false };
  const lanes: Lane[] = [leader];
  const failedBatches: { sequence: number; batch: PendingAppend[] }[] = [];
  let locked = false;
  try {
    await leader.client.query('SELECT pg_advisory_lock($1)', [writerLockKey]);
    locked = true;
    const start = await readHead(leader.client);
    const clockStartedAt = performance.now();
    // The database's clock at the start of the run, moved on by this process's monotonic clock,
    // so entries of one run never go back in time.
    const now = () => new Date(start.now.getTime() + Math.floor(performance.now() - clockStartedAt));
    let head: ChainHead = start.head;
    const balances = new Map<string, BalanceState>();
    const keys = new Set<string>();
    const inFlight = new Set<Promise<void>>();
    let lastCommit: Promise<void> = Promise.resolve();
    let lastBegun: Promise<unknown> = Promise.resolve();
    let failed = false;
    let sequence = 0;

    try {
      while (!failed && performance.now() - clockStartedAt < runTimeMaxMs && balances.size < runBalancesMax) {
        if (lanes.length < options.depth && inFlight.size > 0) {
          try {
            lanes.push({ client: await pool.connect(), idle: Promise.resolve(), broken: false });
          } catch (error) {
            logger.warn('ledger run continues on one connection', { error });
            options = { ...options, depth: 1 };
          }
        }
        const lane = lanes[sequence % lanes.length]!;
        await lane.idle;
        if (failed) break;
        const batch = options.take(keys);
        if (batch.length === 0) {
          if (inFlight.size === 0) break;
          // New appends may arrive while the last batches commit.
          await Promise.race(inFlight);
          continue;
        }
        for (const pending of batch) keys.add(pending.item.request.idempotencyKey);
        const batchSequence = sequence++;

        let prepared: Prepared;
        try {
          prepared = await prepare(lane.client, batch, cache, balances, head, now());
        } catch (error) {
          // Nothing of this batch reached a transaction; the careful path will decide it.
          logger.warn('ledger run could not prepare a batch; the careful path takes over', { size: batch.length, error });
          failedBatches.push({ sequence: batchSequence, batch });
          failed = true;
          break;
        }
        head = prepared.head;

        const client = lane.client;
        const previous = lastCommit;
        // The batch lock must be held before the next batch is sent: the next batch's postings
        // trigger waits on it, which keeps balance updates in chain order (migrations/0010).
        const begin = prepared.sealId === null ? 'BEGIN' : `BEGIN; SELECT pg_advisory_xact_lock(${batchLockClass}, ${batchLockKey(prepared.sealId)})`;
        const begun = lastBegun.then(() => client.query(begin));
        lastBegun = begun;
        const written = begun.then(() => client.query(prepared.text, prepared.values));
        const committed = (async () => {
          let error: Error | undefined;
          try {
            await written;
          } catch (insertError) {
            error = insertError instanceof Error ? insertError : new Error(String(insertError));
          }
          try {
            await previous;
          } catch {
            error ??= new Error('an earlier batch of this run did not commit');
          }
          if (error !== undefined) {
            await client.query('ROLLBACK').catch(() => {
              lane.broken = true;
            });
            throw error;
          }
          await client.query('COMMIT');
        })();
        lastCommit = committed;
        const settled = committed.then(
          () => {
            options.onCommitted(batch.length, prepared.created);
            batch.forEach((pending, index) => pending.resolve(prepared.results[index]!));
          },
          (error: unknown) => {
            if (!failed) logger.warn('ledger batch did not commit; its requests take the careful path', { size: batch.length, error });
            failed = true;
            failedBatches.push({ sequence: batchSequence, batch });
          },
        );
        lane.idle = settled;
        inFlight.add(settled);
        void settled.finally(() => inFlight.delete(settled));
      }
    } finally {
      // Settled promises never reject; a lane must not go back to the pool mid-transaction.
      await Promise.all(inFlight);
    }
  } finally {
    if (locked) {
      await leader.client.query('SELECT pg_advisory_unlock($1)', [writerLockKey]).catch(() => {
        leader.broken = true; // closing the connection releases the lock
      });
    }
    for (const lane of lanes) lane.client.release(lane.broken);
  }
  return failedBatches.sort((a, b) => a.sequence - b.sequence).flatMap(({ batch }) => batch);
}

interface Prepared {
  text: string;
  values: unknown[];
  head: ChainHead;
  /** The seal this batch adds; null when it only records rejections. */
  sealId: bigint | null;
  results: AppendResult[];
  created: number;
}

/**
 * Decides one batch against the run's memory. Reads, on the lane's connection outside any
 * transaction, only what no batch of this run has touched yet (so PostgreSQL's committed value
 * is the current one): new assets, account ids, balance rows — creating accounts and balance
 * rows on first use, committed at once, as the careful path would inside its transaction.
 */
async function prepare(
  client: PoolClient,
  batch: PendingAppend[],
  cache: WriterCache,
  balances: Map<string, BalanceState>,
  head: ChainHead,
  now: Date,
): Promise<Prepared> {
  const items = batch.map((pending) => pending.item);
  const triaged = triage(items);
  const codes = triaged.candidates.flatMap((index) => items[index]!.request.postings.map((p) => p.asset));
  if (codes.some((code) => !cache.assets.has(code))) cache.assets = await loadAssets(client);
  const { accepted, rejected: refused } = screen(items, triaged.candidates, cache.assets, { originals: new Map(), reversedInDatabase: new Set() });

  const accountIds = new Map<string, bigint>();
  const missing: string[] = [];
  for (const index of accepted) {
    for (const p of items[index]!.request.postings) {
      for (const path of [p.source, p.destination]) {
        if (accountIds.has(path)) continue;
        const id = cache.accountIds.get(path);
        if (id === undefined) missing.push(path);
        else accountIds.set(path, id);
      }
    }
  }
  if (missing.length > 0) {
    const created = await ensureAccounts(client, [...new Set(missing)]);
    cache.rememberAccounts(created);
    for (const [path, id] of created) accountIds.set(path, id);
  }

  const unknownRows: [bigint, number][] = [];
  const unread: [bigint, number][] = [];
  const seen = new Set<string>();
  for (const index of accepted) {
    for (const p of items[index]!.request.postings) {
      const assetId = cache.assets.get(p.asset)!.id;
      for (const path of [p.source, p.destination]) {
        const accountId = accountIds.get(path)!;
        const key = balanceKey(accountId, assetId);
        if (balances.has(key) || seen.has(key)) continue;
        seen.add(key);
        if (!cache.knownBalanceRows.has(key)) unknownRows.push([accountId, assetId]);
        unread.push([accountId, assetId]);
      }
    }
  }
  if (unknownRows.length > 0) {
    await ensureBalanceRows(client, unknownRows);
    for (const [accountId, assetId] of unknownRows) cache.knownBalanceRows.add(balanceKey(accountId, assetId));
  }
  if (unread.length > 0) {
    for (const [key, state] of await readBalances(client, unread, false)) balances.set(key, state);
  }

  const { created, rejected } = decideInOrder({ batch: items, accepted, assets: cache.assets, accountIds, balances, firstEntryId: head.lastEntryId + 1n, now });
  const rejections = new Map<number, Rejection>([...refused, ...rejected]);
  const insert = batchInsert(
    head,
    created.map((c) => c.entry),
    [...rejections].map(([index, rejection]) => ({ key: items[index]!.request.idempotencyKey, hash: items[index]!.hash, rejection })),
    cache.assets,
    accountIds,
  );
  if (!insert) throw new Error('a ledger batch decided nothing; every request should be created or rejected');
  return {
    text: insert.text,
    values: insert.values,
    head: insert.head,
    sealId: created.length > 0 ? insert.head.sealId : null,
    results: assembleResults(items, triaged, created, rejections, new Map()),
    created: created.length,
  };
}
