// The projection framework: following the journal with a stored checkpoint, and replaying a
// projection from the journal into a shadow table that is diffed against the live one and,
// when asked, swapped in.
import type { Logger, Pool, PoolClient, Queryable } from '../../infra/index.ts';
import { quoteIdentifier, silentLogger, withTransaction } from '../../infra/index.ts';
import { writerLockKey } from '../append-sql.ts';
import { accountVolumes } from './account-volumes.ts';
import { balancesProjection } from './balances.ts';
import { chocoBalancesProjection } from './choco.ts';
import { depositsProjection } from './deposits.ts';
import { spendWindowsProjection } from './spend-windows.ts';
import type { ProjectionDefinition } from './types.ts';

export type { ProjectionDefinition } from './types.ts';
export { accountVolumes, balancesProjection, chocoBalancesProjection, depositsProjection, spendWindowsProjection };

export const projections: readonly ProjectionDefinition[] = [balancesProjection, accountVolumes, depositsProjection, chocoBalancesProjection, spendWindowsProjection];
/** Entries applied per transaction: bounds memory and lock time whatever the journal's size. */
export const replayChunkEntries = 100_000;

export function findProjection(name: string): ProjectionDefinition | undefined {
  return projections.find((projection) => projection.name === name);
}

async function sealedHead(db: Queryable): Promise<bigint> {
  const { rows } = await db.query<{ head: bigint | null }>('SELECT max(last_entry_id) AS head FROM ledger_seals');
  return rows[0]?.head ?? 0n;
}

/** Applies one chunk of new entries to an asynchronous projection; returns false when caught up. */
export async function followStep(pool: Pool, projection: ProjectionDefinition, chunkEntries = 10_000): Promise<boolean> {
  if (projection.synchronous) throw new Error(`${projection.name} is maintained in the append transaction, not by following`);
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ last_entry_id: bigint }>(
      'SELECT last_entry_id FROM projection_checkpoints WHERE name = $1 FOR UPDATE',
      [projection.name],
    );
    const checkpoint = rows[0]?.last_entry_id ?? 0n;
    const head = await sealedHead(client);
    if (head <= checkpoint) return false;
    const through = head < checkpoint + BigInt(chunkEntries) ? head : checkpoint + BigInt(chunkEntries);
    await projection.apply(client, projection.table, checkpoint, through);
    await client.query(
      `INSERT INTO projection_checkpoints (name, last_entry_id, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (name) DO UPDATE SET last_entry_id = excluded.last_entry_id, updated_at = now()`,
      [projection.name, through.toString()],
    );
    return true;
  });
}

export async function catchUp(pool: Pool, projection: ProjectionDefinition): Promise<void> {
  while (await followStep(pool, projection)) {
    // each step commits on its own, so a crash loses at most one chunk of work, never data
  }
}

/**
 * Keeps every asynchronous projection caught up: woken by the writer's NOTIFY, and by a
 * poll as a safety net for a missed notification.
 */
export class ProjectionFollower {
  private timer: NodeJS.Timeout | null = null;
  private listener: PoolClient | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  private readonly options: { pool: Pool; pollIntervalMs?: number; logger?: Logger; projections?: readonly ProjectionDefinition[] };

  constructor(options: { pool: Pool; pollIntervalMs?: number; logger?: Logger; projections?: readonly ProjectionDefinition[] }) {
    this.options = options;
  }

  async start(): Promise<void> {
    this.listener = await this.options.pool.connect();
    this.listener.on('notification', () => this.wake());
    await this.listener.query('LISTEN coffer_ledger');
    this.timer = setInterval(() => this.wake(), this.options.pollIntervalMs ?? 500);
    this.wake();
  }

  /** Resolves once every projection has caught up with what was sealed when it was called. */
  async settle(): Promise<void> {
    this.wake();
    while (this.running) await this.running;
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async run(): Promise<void> {
    const logger = this.options.logger ?? silentLogger;
    for (const projection of (this.options.projections ?? projections).filter((p) => !p.synchronous)) {
      try {
        await catchUp(this.options.pool, projection);
      } catch (error) {
        logger.error('projection failed to follow the journal; will retry', { projection: projection.name, error });
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.running) await this.running;
    if (this.listener) {
      await this.listener.query('UNLISTEN coffer_ledger').catch(() => undefined);
      this.listener.release();
    }
  }
}

export interface ProjectionDiff {
  /** Rows in the live table the replay did not produce. */
  onlyLive: number;
  /** Rows the replay produced that the live table lacks. */
  onlyReplay: number;
  /** Rows present in both with different values. */
  different: number;
  /** Up to `sampleMax` differing rows, named by account path and asset code (or by key columns). */
  sample: { key: string; live: Record<string, string> | null; replay: Record<string, string> | null }[];
}

export interface ReplayReport {
  projection: string;
  throughEntryId: bigint;
  diff: ProjectionDiff;
  swapped: boolean;
}

const sampleMax = 20;

export async function diffTables(client: PoolClient, projection: ProjectionDefinition, live: string, shadow: string): Promise<ProjectionDiff> {
  const keyColumns = projection.keyColumns.map(quoteIdentifier);
  const first = keyColumns[0]!;
  const values = projection.valueColumns;
  const differs = values.map((c) => `l.${quoteIdentifier(c)} IS DISTINCT FROM r.${quoteIdentifier(c)}`).join(' OR ');
  const asJson = (alias: string) =>
    `CASE WHEN ${alias}.${first} IS NULL THEN NULL ELSE json_build_object(${values
      .map((c) => `'${c}', ${alias}.${quoteIdentifier(c)}::text`)
      .join(', ')}) END`;
  // Rows keyed by account and asset are named by path and code; others by their key columns.
  const accountKeyed = projection.keyColumns.join() === 'account_id,asset_id';
  const sampleKey = accountKeyed
    ? `(SELECT a.path FROM accounts a WHERE a.id = d2.account_id) || ' ' || (SELECT s.code FROM assets s WHERE s.id = d2.asset_id)`
    : keyColumns.map((c) => `'${c.replaceAll('"', '')}=' || d2.${c}::text`).join(` || ' ' || `);
  const { rows } = await client.query<{ only_live: string; only_replay: string; different: string; sample: ProjectionDiff['sample'] | null }>(
    `WITH d AS (
       SELECT ${keyColumns.map((c) => `coalesce(l.${c}, r.${c}) AS ${c}`).join(', ')},
              (r.${first} IS NULL) AS only_live, (l.${first} IS NULL) AS only_replay,
              ${asJson('l')} AS live, ${asJson('r')} AS replay
         FROM (SELECT * FROM ${quoteIdentifier(live)} ${projection.emptyRowCondition ? `WHERE NOT (${projection.emptyRowCondition})` : ''}) l
         FULL JOIN ${quoteIdentifier(shadow)} r USING (${keyColumns.join(', ')})
        WHERE l.${first} IS NULL OR r.${first} IS NULL OR ${differs})
     SELECT count(*) FILTER (WHERE only_live) AS only_live, count(*) FILTER (WHERE only_replay) AS only_replay,
            count(*) FILTER (WHERE NOT only_live AND NOT only_replay) AS different,
            (SELECT json_agg(x) FROM (SELECT ${sampleKey} AS key, d2.live, d2.replay FROM d d2
               ORDER BY 1 LIMIT ${sampleMax}) x) AS sample
       FROM d`,
  );
  const row = rows[0]!;
  return { onlyLive: Number(row.only_live), onlyReplay: Number(row.only_replay), different: Number(row.different), sample: row.sample ?? [] };
}

/**
 * Rebuilds a projection from the journal into `<table>_replay`, diffs it against the live
 * table and, with `swap`, replaces the live table with it. The synchronous balances
 * projection can be replayed and diffed but not swapped: PostgreSQL maintains it inside every
 * append, so a difference is evidence of tampering for `coffer verify` to report, not drift.
 */
export async function replayProjection(
  pool: Pool,
  projection: ProjectionDefinition,
  options: { swap?: boolean; onProgress?: (done: bigint, total: bigint) => void; chunkEntries?: number } = {},
): Promise<ReplayReport> {
  if (options.swap && projection.synchronous) {
    throw new Error(`${projection.name} is written in the append transaction and cannot be swapped; run coffer verify`);
  }
  const shadow = `${projection.table}_replay`;
  const chunk = BigInt(options.chunkEntries ?? replayChunkEntries);
  await pool.query(`DROP TABLE IF EXISTS ${quoteIdentifier(shadow)}`);
  await pool.query(
    `CREATE TABLE ${quoteIdentifier(shadow)} (LIKE ${quoteIdentifier(projection.table)} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING INDEXES)`,
  );
  let done = 0n;
  const build = async (db: Queryable, through: bigint) => {
    while (done < through) {
      const next = done + chunk < through ? done + chunk : through;
      await projection.apply(db, shadow, done, next);
      done = next;
      options.onProgress?.(done, through);
    }
  };
  try {
    // Most of the work runs without blocking anyone; the last stretch and the diff run while
    // the live side is held still (the writer lock, or the projection's checkpoint row).
    await build(pool, await sealedHead(pool));
    return await withTransaction(pool, async (client) => {
      let through: bigint;
      if (projection.synchronous) {
        await client.query('SELECT pg_advisory_xact_lock($1)', [writerLockKey]);
        through = await sealedHead(client);
      } else {
        const { rows } = await client.query<{ last_entry_id: bigint }>(
          'SELECT last_entry_id FROM projection_checkpoints WHERE name = $1 FOR UPDATE',
          [projection.name],
        );
        through = rows[0]?.last_entry_id ?? 0n;
        if (through < done) {
          // The live projection is behind the journal; compare like with like by rebuilding to its checkpoint.
          await client.query(`TRUNCATE ${quoteIdentifier(shadow)}`);
          done = 0n;
        }
      }
      await build(client, through);
      const diff = await diffTables(client, projection, projection.table, shadow);
      let swapped = false;
      if (options.swap) {
        const old = `${projection.table}_previous`;
        await client.query(`DROP TABLE IF EXISTS ${quoteIdentifier(old)}`);
        await client.query(`ALTER TABLE ${quoteIdentifier(projection.table)} RENAME TO ${quoteIdentifier(old)}`);
        await client.query(`ALTER TABLE ${quoteIdentifier(shadow)} RENAME TO ${quoteIdentifier(projection.table)}`);
        await client.query(`DROP TABLE ${quoteIdentifier(old)}`);
        swapped = true;
      }
      return { projection: projection.name, throughEntryId: through, diff, swapped };
    });
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${quoteIdentifier(shadow)}`);
  }
}
