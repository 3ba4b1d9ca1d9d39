// The transactional outbox: work that a ledger change makes necessary is written in the same
// PostgreSQL transaction as the change (an indexer's confirmation, a credit, a spend decision),
// so it exists if and only if the change committed. jobs/ dispatches it to BullMQ. It lives in
// infra/ because every room that changes the ledger writes to it (indexers, jobs, wallets).
import type { PoolClient, Queryable } from './db.ts';
import { parseJobPayload, type CataloguedJob, type QueueName } from './job-catalogue.ts';
import { run, db as sqlBuilder } from './sql.ts';
import { sql } from 'kysely';

/** A job of the catalogue (queue → name → payload), as the outbox keeps it. */
export type OutboxJob = CataloguedJob & {
  /** The same work asked for twice is one row: e.g. `credit:<confirmation entry id>`. */
  dedupeKey: string;
  /** Not to be run before this time (an approval's deadline, say); BullMQ delays it. */
  runAfter?: Date;
};

/** Inserts jobs on the caller's transaction; a job whose dedupe key exists already is skipped. */
export async function enqueue(db: Queryable, jobs: readonly OutboxJob[]): Promise<void> {
  if (jobs.length === 0) return;
  // A payload that does not fit its catalogue entry is a bug here, not a job to retry later.
  for (const job of jobs) parseJobPayload(job.queue, job.name, job.payload);
  // One statement, columns as arrays: an indexer batch can ask for thousands of credits at once.
  await run(
    db,
    sql`INSERT INTO outbox (queue, name, dedupe_key, payload, run_after)
        SELECT * FROM unnest(${jobs.map((j) => j.queue)}::text[], ${jobs.map((j) => j.name)}::text[], ${jobs.map((j) => j.dedupeKey)}::text[],
                             ${jobs.map((j) => JSON.stringify(j.payload))}::jsonb[], ${jobs.map((j) => j.runAfter?.toISOString() ?? null)}::timestamptz[])
        ON CONFLICT (dedupe_key) DO NOTHING`,
  );
}

/** Marks the job's work done, so the dispatcher stops offering it (after Redis loses it, say). */
export async function markDone(db: Queryable, outboxId: bigint | string): Promise<void> {
  await run(db, sqlBuilder.updateTable('outbox').set({ completed_at: sql<Date>`coalesce(completed_at, now())` }).where('id', '=', BigInt(outboxId)));
}

export interface OutboxRow {
  id: bigint;
  queue: QueueName;
  name: string;
  payload: Record<string, string>;
  runAfter: Date | null;
}

/** Rows not yet done and not offered within `reofferAfterMs`, oldest first. */
export async function takeDue(db: Queryable, options: { limit: number; reofferAfterMs: number }): Promise<OutboxRow[]> {
  // Payloads were checked against the catalogue when they were enqueued, so they are read back as such.
  const rows = await run(
    db,
    sql<OutboxRow>`UPDATE outbox SET dispatched_at = now(), dispatch_count = dispatch_count + 1
      WHERE id IN (SELECT id FROM outbox
                    WHERE completed_at IS NULL
                      AND (dispatched_at IS NULL OR dispatched_at < now() - make_interval(secs => ${options.reofferAfterMs}::double precision / 1000))
                    ORDER BY id LIMIT ${options.limit} FOR UPDATE SKIP LOCKED)
      RETURNING id, queue, name, payload, run_after AS "runAfter"`,
  );
  return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Hands offered rows back (Redis was away), so the next pass offers them at once rather than after the re-offer delay. */
export async function handBack(db: Queryable, ids: readonly bigint[]): Promise<void> {
  if (ids.length === 0) return;
  await run(db, sqlBuilder.updateTable('outbox').set({ dispatched_at: null }).where('id', 'in', [...ids]).where('completed_at', 'is', null));
}

/** Subscribes a dedicated connection to the NOTIFY that every outbox insert sends (migration 0007). */
export async function listenForOutbox(client: PoolClient): Promise<void> {
  await run(client, sql`LISTEN coffer_outbox`);
}

export async function stopListeningForOutbox(client: PoolClient): Promise<void> {
  await run(client, sql`UNLISTEN coffer_outbox`);
}

export interface OutboxCounts {
  queue: string;
  waiting: number;
  done: number;
}

export async function outboxCounts(db: Queryable): Promise<OutboxCounts[]> {
  const rows = await run(
    db,
    sqlBuilder
      .selectFrom('outbox')
      .select((eb) => [
        'queue',
        eb.fn.countAll<bigint>().filterWhere('completed_at', 'is', null).as('waiting'),
        eb.fn.countAll<bigint>().filterWhere('completed_at', 'is not', null).as('done'),
      ])
      .groupBy('queue')
      .orderBy('queue'),
  );
  return rows.map((r) => ({ queue: r.queue, waiting: Number(r.waiting), done: Number(r.done) }));
}
