// The load `coffer bench ledger` puts on the writer: a steady stream of transfers between
// funded accounts. Also a script: `node ledger/append-stream.ts <database-url> <prefix> <count>`
// appends `count` transfers in a fresh process and prints one JSON line with its rates and its
// peak resident memory, so the bench can compare what appending 100k and 1M postings need,
// each in a process of its own (in one process, the heap left over by earlier cases and the
// garbage collector's timing decide the peak more than the work does).
import { fileURLToPath } from 'node:url';
import { createPool, type Pool } from '../infra/index.ts';
import { registerAsset, type Asset } from './assets.ts';
import { chart } from './chart.ts';
import type { AppendRequest, AppendResult } from './types.ts';
import { LedgerWriter } from './writer.ts';

/** Accounts `users:0:wallet` … `users:999:wallet`, funded by `fundStreamAccounts` before any transfer. */
export const streamAccountsCount = 1_000;
/** The stream moves a test asset of no chain: the writer's cost does not depend on which asset it is. */
export const streamAsset: Asset = { code: 'BENCH', scale: 18, chain: null, contract: null };
const chunkSize = 500;
const chunksInFlightMax = 8;

export function transfers(prefix: string, count: number, offset = 0): AppendRequest[] {
  return Array.from({ length: count }, (_, i) => {
    const n = offset + i;
    // A fixed pseudo-random walk: every run moves the same amounts between the same accounts.
    const from = (n * 7_919) % streamAccountsCount;
    const to = (from + 1 + ((n * 104_729) % (streamAccountsCount - 1))) % streamAccountsCount;
    return {
      kind: 'transfer',
      idempotencyKey: `${prefix}-${n}`,
      postings: [{ source: `users:${from}:wallet`, destination: `users:${to}:wallet`, asset: streamAsset.code, amount: 1_000n + BigInt(n % 997) }],
    };
  });
}

/** Registers the stream's asset and gives every stream account more than any run moves. */
export async function fundStreamAccounts(pool: Pool): Promise<void> {
  await registerAsset(pool, streamAsset);
  const funder = new LedgerWriter({ pool, batchSizeMax: 500 });
  try {
    await funder.appendMany(
      Array.from({ length: streamAccountsCount }, (_, i) => ({
        kind: 'deposit',
        idempotencyKey: `fund-${i}`,
        postings: [{ source: chart.world('bench'), destination: `users:${i}:wallet`, asset: streamAsset.code, amount: 10n ** 24n }],
      })),
    );
  } finally {
    await funder.close();
  }
}

/**
 * Appends `count` transfers like a steady stream of callers: chunks of 500 are submitted while
 * at most 8 are unanswered, so the writer always has work queued and memory stays bounded
 * however long the stream. Returns postings per second. `onChunk` sees the count answered.
 */
export async function appendAll(writer: LedgerWriter, prefix: string, count: number, onChunk?: (done: number) => void): Promise<number> {
  const started = performance.now();
  const inFlight: Promise<AppendResult[]>[] = [];
  let done = 0;
  const settleOldest = async () => {
    const results = await inFlight.shift()!;
    const refused = results.find((r) => r.status !== 'created');
    if (refused) throw new Error(`bench transfer was not created: ${JSON.stringify(refused, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
    done += results.length;
    onChunk?.(done);
  };
  for (let submitted = 0; submitted < count; submitted += chunkSize) {
    if (inFlight.length >= chunksInFlightMax) await settleOldest();
    const chunk = writer.appendMany(transfers(prefix, Math.min(chunkSize, count - submitted), submitted));
    chunk.catch(() => undefined); // awaited in order below; this only keeps an early failure from counting as unhandled
    inFlight.push(chunk);
  }
  while (inFlight.length > 0) await settleOldest();
  return count / ((performance.now() - started) / 1000);
}

export interface StreamReport {
  postings: number;
  postingsPerSec: number;
  /** Rates over the first and the last `windowPostings` appends: appending must not slow down. */
  firstPostingsPerSec: number;
  lastPostingsPerSec: number;
  /** The process's peak resident memory (the kernel's high-water mark), MiB. */
  peakRssMb: number;
}

async function main(url: string, prefix: string, count: number): Promise<StreamReport> {
  const pool = createPool({ connectionString: url, max: 4, applicationName: 'coffer-bench-stream' });
  const writer = new LedgerWriter({ pool, batchSizeMax: 500 });
  const windowPostings = Math.min(100_000, Math.floor(count / 2 / chunkSize) * chunkSize);
  const lastFrom = count - windowPostings;
  const started = performance.now();
  let firstSeconds = 0;
  let lastStartedAt = started;
  try {
    const postingsPerSec = await appendAll(writer, prefix, count, (done) => {
      if (done === windowPostings) firstSeconds = (performance.now() - started) / 1000;
      if (done === lastFrom) lastStartedAt = performance.now();
      if (done % 100_000 === 0) process.stderr.write(`[bench ledger]   ${done}/${count}\n`);
    });
    const lastSeconds = (performance.now() - lastStartedAt) / 1000;
    return {
      postings: count,
      postingsPerSec: Math.round(postingsPerSec),
      firstPostingsPerSec: Math.round(windowPostings / firstSeconds),
      lastPostingsPerSec: Math.round(windowPostings / lastSeconds),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
    };
  } finally {
    await writer.close();
    await pool.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, prefix, countText] = process.argv.slice(2);
  const count = Number(countText);
  if (!url || !prefix || !Number.isInteger(count) || count < 1_000 || count % chunkSize !== 0) {
    process.stderr.write('usage: node ledger/append-stream.ts <database-url> <prefix> <count: a multiple of 500, at least 1000>\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(await main(url, prefix, count))}\n`);
}
