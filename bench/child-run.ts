// Indexer benches measure each run in a process of its own (a `bench-child.ts` beside each
// chain's bench), so a run's peak RSS is the indexer's alone — not the bench's, which built the
// chain and, with an in-process devnet (LiteSVM, the NEAR devnet), holds every block of it. The
// parent side spawns a run and reads its one-line report; the child side counts blocks, samples
// its RSS and prints that report. `compareRuns` alternates a baseline with the indexer, and
// `indexerBenchResult` gives every chain's indexer bench the same JSON shape.
import { spawn } from 'node:child_process';
import type { BenchResult } from './index.ts';

export interface ChildRun {
  blocks: number;
  ms: number;
  peakRssMb: number;
  /** Heap in use after a full collection at the end: what a leak would grow (peak RSS also counts uncollected garbage). */
  retainedHeapMb: number;
  /** Peak RSS over each `segmentBlocks` blocks of the run: does memory keep growing as it goes on? */
  rssBySegmentMb: number[];
  blocksPerSec: number;
}

/**
 * One measured run: `script` with the given node flags (those the supervisor gives indexer
 * processes) plus --expose-gc, its job in `env`. Its last line of output is its report.
 */
export async function runBenchChild(script: string, options: { label: string; nodeFlags: readonly string[]; env: NodeJS.ProcessEnv }): Promise<ChildRun> {
  const proc = spawn(process.execPath, [...options.nodeFlags, '--expose-gc', script], { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let report: Partial<ChildRun> = {};
  try {
    report = JSON.parse(line || '{}') as Partial<ChildRun>;
  } catch {
    // A run that died printing something else is reported below with its stderr.
  }
  if (code !== 0 || report.blocks === undefined || report.ms === undefined) throw new Error(`the ${options.label} run failed (exit ${code}): ${stderr.trim()}`);
  return {
    blocks: report.blocks,
    ms: report.ms,
    peakRssMb: report.peakRssMb ?? 0,
    retainedHeapMb: report.retainedHeapMb ?? 0,
    rssBySegmentMb: report.rssBySegmentMb ?? [],
    blocksPerSec: Math.round((report.blocks * 1000) / Math.max(report.ms, 1)),
  };
}

/** The child's side: `count` blocks as they are read; `report` prints the line `runBenchChild` reads. */
export class ChildRunMeter {
  private blocks = 0;
  private peakRss = 0;
  private readonly segmentPeaks: number[] = [];
  private readonly started = performance.now();
  private readonly timer = setInterval(() => this.sample(), 50);
  private readonly segmentBlocks: number;

  constructor(segmentBlocks = 5_000) {
    this.segmentBlocks = segmentBlocks;
    this.timer.unref();
  }

  count(blocks: number): void {
    this.blocks += blocks;
  }

  /** Synchronous, so it can run in an 'exit' handler (the EVM processor ends its own process). */
  report(extra: Record<string, unknown> = {}): void {
    const ms = Math.round(performance.now() - this.started);
    this.sample();
    clearInterval(this.timer);
    // Started with --expose-gc: collect everything first, so the heap left is what is retained.
    (globalThis as { gc?: () => void }).gc?.();
    const retainedHeapMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
    const rssBySegmentMb = Array.from(this.segmentPeaks, (peak) => Math.round((peak ?? 0) / 2 ** 20));
    process.stdout.write(JSON.stringify({ ...extra, blocks: this.blocks, ms, peakRssMb: Math.round(this.peakRss / 2 ** 20), retainedHeapMb, rssBySegmentMb }) + '\n');
  }

  private sample(): void {
    const rss = process.memoryUsage().rss;
    this.peakRss = Math.max(this.peakRss, rss);
    const segment = Math.floor(this.blocks / this.segmentBlocks);
    this.segmentPeaks[segment] = Math.max(this.segmentPeaks[segment] ?? 0, rss);
  }
}

export interface ComparedRuns {
  baseline: ChildRun;
  indexer: ChildRun;
}

/**
 * Runs of a few seconds swing by ±20 % on this machine: alternate the baseline and the indexer
 * `rounds` times and keep each side's median by speed, with the highest peak RSS and heap of its runs.
 */
export async function compareRuns(rounds: number, run: { baseline: () => Promise<ChildRun>; indexer: () => Promise<ChildRun> }, onRound: (round: number, pair: ComparedRuns) => void): Promise<ComparedRuns> {
  const baseline: ChildRun[] = [];
  const indexer: ChildRun[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    baseline.push(await run.baseline());
    indexer.push(await run.indexer());
    onRound(round, { baseline: baseline.at(-1)!, indexer: indexer.at(-1)! });
  }
  return { baseline: median(baseline), indexer: median(indexer) };
}

function median(runs: ChildRun[]): ChildRun {
  const sorted = [...runs].sort((a, b) => a.blocksPerSec - b.blocksPerSec);
  return { ...sorted[Math.floor(sorted.length / 2)]!, peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)), retainedHeapMb: Math.max(...runs.map((r) => r.retainedHeapMb)) };
}

/**
 * The indexer benches' common shape: `<baseline>_<n>k` and `ledger_<n>k` metrics,
 * `indexer_vs_<baseline>`, and with a long run its ratios against the short one, plus peak RSS
 * within the long run once warm (its last segment against its second: separate runs of
 * different lengths mostly compare V8 warm-up).
 */
export function indexerBenchResult(options: {
  bench: string;
  baseline: 'noop' | 'bare';
  short: ComparedRuns & { blocks: number; deposits: number };
  long?: ComparedRuns & { blocks: number; deposits: number };
  notes: string[];
}): BenchResult {
  const { baseline, short, long } = options;
  const key = (blocks: number) => `${Math.round(blocks / 1000)}k`;
  const metrics = (runs: ComparedRuns & { blocks: number; deposits: number }): BenchResult['metrics'] => ({
    [`${baseline}_${key(runs.blocks)}`]: { blocks: runs.baseline.blocks, blocksPerSec: runs.baseline.blocksPerSec, peakRssMb: runs.baseline.peakRssMb, retainedHeapMb: runs.baseline.retainedHeapMb },
    [`ledger_${key(runs.blocks)}`]: { blocks: runs.indexer.blocks, blocksPerSec: runs.indexer.blocksPerSec, peakRssMb: runs.indexer.peakRssMb, retainedHeapMb: runs.indexer.retainedHeapMb, deposits: runs.deposits },
  });
  const result: BenchResult = {
    bench: options.bench,
    metrics: metrics(short),
    ratios: { [`indexer_vs_${baseline}`]: round(short.indexer.blocksPerSec / short.baseline.blocksPerSec) },
    notes: options.notes,
  };
  if (long) {
    const longKey = key(long.blocks);
    Object.assign(result.metrics, metrics(long));
    result.ratios[`indexer_vs_${baseline}_${longKey}`] = round(long.indexer.blocksPerSec / long.baseline.blocksPerSec);
    result.ratios[`rss_${longKey}_vs_${key(short.blocks)}`] = round(long.indexer.peakRssMb / short.indexer.peakRssMb);
    result.ratios[`${baseline}_rss_${longKey}_vs_${key(short.blocks)}`] = round(long.baseline.peakRssMb / short.baseline.peakRssMb);
    result.ratios[`retained_heap_${longKey}_vs_${key(short.blocks)}`] = round(long.indexer.retainedHeapMb / short.indexer.retainedHeapMb);
    const segments = long.indexer.rssBySegmentMb.filter((mb) => mb > 0);
    if (segments.length >= 3) {
      result.metrics[`ledger_${longKey}_rss_by_5k_blocks`] = Object.fromEntries(segments.map((mb, i) => [`from${i * 5}k`, mb]));
      result.ratios[`rss_at_${longKey}_vs_at_5k_same_run`] = round(segments.at(-1)! / segments[1]!);
    }
  }
  return result;
}

const round = (value: number) => Math.round(value * 1000) / 1000;
