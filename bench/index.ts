// `coffer bench <name>`: every benchmark reports its cases' throughput and ratios against
// baselines measured in the same run (machines here are noisy; ratios travel, absolutes don't),
// as a table, or as one JSON object { bench, metrics, ratios } with --json.
import { randomBytes } from 'node:crypto';
import { createPool, dropDatabase, ensureDatabase, loadConfig, type Pool } from '../infra/index.ts';
import { migrate } from '../migrations/index.ts';
import { countEntries } from '../ledger/index.ts';

import type { ChildRun } from './child-run.ts';

export { runBenchChild, ChildRunMeter, compareRuns, indexerBenchResult, type ChildRun, type ComparedRuns } from './child-run.ts';

export interface BenchResult {
  bench: string;
  metrics: Record<string, Record<string, number>>;
  ratios: Record<string, number>;
  notes?: string[];
}

export interface BenchContext {
  pool: Pool;
  url: string;
  quick: boolean;
  progress: (line: string) => void;
}

export type Bench = (context: BenchContext) => Promise<BenchResult>;

/** Samples resident memory every 50 ms; `peak()` is the highest since the last `reset()`. */
export class RssSampler {
  private max = 0;
  private readonly timer = setInterval(() => this.sample(), 50);
  sample(): void {
    this.max = Math.max(this.max, process.memoryUsage().rss);
  }
  reset(): void {
    this.max = process.memoryUsage().rss;
  }
  peakMb(): number {
    this.sample();
    return Math.round((this.max / 2 ** 20) * 10) / 10;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** A throwaway, migrated database on the configured server, dropped afterwards. */
export async function withBenchDatabase<T>(work: (pool: Pool, url: string) => Promise<T>): Promise<T> {
  const url = new URL(loadConfig().DATABASE_URL);
  url.pathname = `/coffer_bench_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(url.toString());
  try {
    await migrate({ connectionString: url.toString() });
    const pool = createPool({ connectionString: url.toString(), max: 12, applicationName: 'coffer-bench' });
    try {
      return await work(pool, url.toString());
    } finally {
      await pool.end();
    }
  } finally {
    await dropDatabase(url.toString());
  }
}

/**
 * An indexer run against a fresh database that `prepare` fills (users, addresses, assets);
 * a run that did not confirm exactly `expectedDeposits` deposits measured the wrong thing.
 */
export function indexerRunOnFreshDatabase(prepare: (pool: Pool) => Promise<unknown>, run: (url: string) => Promise<ChildRun>, expectedDeposits: number): Promise<ChildRun> {
  return withBenchDatabase(async (pool, url) => {
    await prepare(pool);
    const measured = await run(url);
    const confirmed = await countEntries(pool, 'deposit.confirmed');
    if (confirmed !== BigInt(expectedDeposits)) throw new Error(`the indexer confirmed ${confirmed} deposits of ${expectedDeposits}`);
    return measured;
  });
}

export function formatTable(result: BenchResult): string {
  const lines = [`bench ${result.bench}`];
  const metricNames = [...new Set(Object.values(result.metrics).flatMap((m) => Object.keys(m)))];
  const caseWidth = Math.max(6, ...Object.keys(result.metrics).map((k) => k.length));
  lines.push(['case'.padEnd(caseWidth), ...metricNames.map((m) => m.padStart(16))].join('  '));
  for (const [name, metrics] of Object.entries(result.metrics)) {
    lines.push([name.padEnd(caseWidth), ...metricNames.map((m) => (metrics[m] === undefined ? '' : metrics[m].toLocaleString('en-US')).padStart(16))].join('  '));
  }
  lines.push('', 'ratios (same run)');
  for (const [name, value] of Object.entries(result.ratios)) lines.push(`  ${name.padEnd(32)} ${value}`);
  for (const note of result.notes ?? []) lines.push(`note: ${note}`);
  return lines.join('\n') + '\n';
}
