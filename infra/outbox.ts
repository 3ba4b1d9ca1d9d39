// The transactional outbox: work that a ledger change makes necessary is written in the same
// PostgreSQL transaction as the change (an indexer's confirmation, a credit, a spend decision),
// so it exists if and only if the change committed. jobs/ dispatches it to BullMQ. It lives in
// infra/ because every room that changes the ledger writes to it (indexers, jobs, wallets).
import type { Queryable } from './db.ts';
import { parseJobPayload, type CataloguedJob, type QueueName } from './job-catalogue.ts';

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
  await db.query(
    `INSERT INTO outbox (queue, name, dedupe_key, payload, run_after)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::timestamptz[])
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [
      jobs.map((j) => j.queue),
      jobs.map((j) => j.name),
      jobs.map((j) => j.dedupeKey),
      jobs.map((j) => JSON.stringify(j.payload)),
      jobs.map((j) => j.runAfter?.toISOString() ?? null),
    ],
  );
}

/** Marks the job's work done, so the dispatcher stops offering it (after Redis loses it, say). */
export async function markDone(db: Queryable, outboxId: bigint | string): Promise<void> {
  await db.query('UPDATE outbox SET completed_at = coalesce(completed_at, now()) WHERE id = $1', [outboxId.toString()]);
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
  const { rows } = await db.query<OutboxRow>(
    `UPDATE outbox SET dispatched_at = now(), dispatch_count = dispatch_count + 1
      WHERE id IN (SELECT id FROM outbox
                    WHERE completed_at IS NULL
                      AND (dispatched_at IS NULL OR dispatched_at < now() - make_interval(secs => $2::double precision / 1000))
                    ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING id, queue, name, payload, run_after AS "runAfter"`,
    [options.limit, options.reofferAfterMs],
  );
  return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
}

export interface OutboxCounts {
  queue: string;
  waiting: number;
  done: number;
}

export async function outboxCounts(db: Queryable): Promise<OutboxCounts[]> {
  const { rows } = await db.query<{ queue: string; waiting: string; done: string }>(
    `SELECT queue, count(*) FILTER (WHERE completed_at IS NULL) AS waiting, count(*) FILTER (WHERE completed_at IS NOT NULL) AS done
       FROM outbox GROUP BY queue ORDER BY queue`,
  );
  return rows.map((r) => ({ queue: r.queue, waiting: Number(r.waiting), done: Number(r.done) }));
}
