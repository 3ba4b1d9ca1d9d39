// The projection framework: following the journal with a stored checkpoint, and replaying a
// projection from the journal into a shadow table that is diffed against the live one and,
// when asked, swapped in.
import type { Logger, Pool, PoolClient, Queryable } from '../../infra/index.ts';
import { run, runFirst, runOne, silentLogger, sql, sqlBuilder, withTransaction } from '../../infra/index.ts';
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
  const row = await runFirst(db, sqlBuilder.selectFrom('ledger_seals').select((eb) => eb.fn.max('last_entry_id').as('head')));
  return row?.head ?? 0n;
}

/** The last entry an asynchronous projection has applied (0 before its first step), locked for update when `forUpdate`. */
async function checkpointOf(db: Queryable, name: string, options: { forUpdate?: boolean } = {}): Promise<bigint> {
  const query = sqlBuilder.selectFrom('projection_checkpoints').select('last_entry_id').where('name', '=', name);
  const row = await runFirst(db, options.forUpdate ? query.forUpdate() : query);
  return row?.last_entry_id ?? 0n;
}

/** Each asynchronous projection's checkpoint, by name (for `coffer projections list`). */
export async function projectionCheckpoints(db: Queryable): Promise<Map<string, bigint>> {
  const rows = await run(db, sqlBuilder.selectFrom('projection_checkpoints').select(['name', 'last_entry_id']).orderBy('name'));
  return new Map(rows.map((row) => [row.name, row.last_entry_id]));
}

/** Applies one chunk of new entries to an asynchronous projection; returns false when caught up. */
export async function followStep(pool: Pool, projection: ProjectionDefinition, chunkEntries = 10_000): Promise<boolean> {
  if (projection.synchronous) throw new Error(`${projection.name} is maintained in the append transaction, not by following`);
  return withTransaction(pool, async (client) => {
    const checkpoint = await checkpointOf(client, projection.name, { forUpdate: true });
    const head = await sealedHead(client);
    if (head <= checkpoint) return false;
    const through = head < checkpoint + BigInt(chunkEntries) ? head : checkpoint + BigInt(chunkEntries);
    await projection.apply(client, projection.table, checkpoint, through);
    await run(
      client,
      sqlBuilder
        .insertInto('projection_checkpoints')
        .values({ name: projection.name, last_entry_id: through, updated_at: sql<Date>`now()` })
        .onConflict((conflict) => conflict.column('name').doUpdateSet((eb) => ({ last_entry_id: eb.ref('excluded.last_entry_id'), updated_at: sql<Date>`now()` }))),
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
    await run(this.listener, sql`LISTEN coffer_ledger`);
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
      await run(this.listener, sql`UNLISTEN coffer_ledger`).catch(() => undefined);
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
  const [firstKey] = projection.keyColumns;
  const keys = projection.keyColumns.map((column) => sql.id(column));
  const first = sql.id(firstKey);
  const column = (alias: string, name: string) => sql.ref(`${alias}.${name}`);
  const differs = sql.join(projection.valueColumns.map((c) => sql`${column('l', c)} IS DISTINCT FROM ${column('r', c)}`), sql` OR `);
  const asJson = (alias: string) =>
    sql`CASE WHEN ${column(alias, firstKey)} IS NULL THEN NULL ELSE json_build_object(${sql.join(projection.valueColumns.map((c) => sql`${sql.lit(c)}, ${column(alias, c)}::text`))}) END`;
  // Rows keyed by account and asset are named by path and code; others by their key columns.
  const accountKeyed = projection.keyColumns.join() === 'account_id,asset_id';
  const sampleKey = accountKeyed
    ? sql`(SELECT a.path FROM accounts a WHERE a.id = d2.account_id) || ' ' || (SELECT s.code FROM assets s WHERE s.id = d2.asset_id)`
    : sql.join(projection.keyColumns.map((c) => sql`${sql.lit(`${c}=`)} || ${column('d2', c)}::text`), sql` || ' ' || `);
  // emptyRowCondition is the definition's own SQL text, never input.
  const liveRows = projection.emptyRowCondition ? sql`SELECT * FROM ${sql.id(live)} WHERE NOT (${sql.raw(projection.emptyRowCondition)})` : sql`SELECT * FROM ${sql.id(live)}`;
  const row = await runOne(
    client,
    sql<{ only_live: string; only_replay: string; different: string; sample: ProjectionDiff['sample'] | null }>`WITH d AS (
       SELECT ${sql.join(keys.map((key) => sql`coalesce(l.${key}, r.${key}) AS ${key}`))},
              (r.${first} IS NULL) AS only_live, (l.${first} IS NULL) AS only_replay,
              ${asJson('l')} AS live, ${asJson('r')} AS replay
         FROM (${liveRows}) l
         FULL JOIN ${sql.id(shadow)} r USING (${sql.join(keys)})
        WHERE l.${first} IS NULL OR r.${first} IS NULL OR ${differs})
     SELECT count(*) FILTER (WHERE only_live) AS only_live, count(*) FILTER (WHERE only_replay) AS only_replay,
            count(*) FILTER (WHERE NOT only_live AND NOT only_replay) AS different,
            (SELECT json_agg(x) FROM (SELECT ${sampleKey} AS key, d2.live, d2.replay FROM d d2
               ORDER BY 1 LIMIT ${sql.lit(sampleMax)}) x) AS sample
       FROM d`,
  );
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
  await run(pool, sql`DROP TABLE IF EXISTS ${sql.id(shadow)}`);
  await run(pool, sql`CREATE TABLE ${sql.id(shadow)} (LIKE ${sql.id(projection.table)} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING INDEXES)`);
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
        await run(client, sql`SELECT pg_advisory_xact_lock(${writerLockKey})`);
        through = await sealedHead(client);
      } else {
        through = await checkpointOf(client, projection.name, { forUpdate: true });
        if (through < done) {
          // The live projection is behind the journal; compare like with like by rebuilding to its checkpoint.
          await run(client, sql`TRUNCATE ${sql.id(shadow)}`);
          done = 0n;
        }
      }
      await build(client, through);
      const diff = await diffTables(client, projection, projection.table, shadow);
      let swapped = false;
      if (options.swap) {
        const old = `${projection.table}_previous`;
        await run(client, sql`DROP TABLE IF EXISTS ${sql.id(old)}`);
        await run(client, sql`ALTER TABLE ${sql.id(projection.table)} RENAME TO ${sql.id(old)}`);
        await run(client, sql`ALTER TABLE ${sql.id(shadow)} RENAME TO ${sql.id(projection.table)}`);
        await run(client, sql`DROP TABLE ${sql.id(old)}`);
        swapped = true;
      }
      return { projection: projection.name, throughEntryId: through, diff, swapped };
    });
  } finally {
    await run(pool, sql`DROP TABLE IF EXISTS ${sql.id(shadow)}`);
  }
}
