// `coffer bench ledger`: the writer at batch sizes 1, 100 and 500 with every invariant on,
// against (a) the same transfers as one transaction each through a pgledger-style function on
// 8 connections (the usual way to build a Postgres ledger), (b) a raw multi-row INSERT of the
// same entry and posting rows into copies of the tables without constraints, indexes or
// triggers (the physical limit of this machine), and (c) that INSERT into copies that keep the
// keys, indexes and CHECKs (what the rows alone cost, before balances, floors and seals).
// Then memory (a fresh process appending 100k postings against one appending 1M, whose peaks
// must match), replay and verify over > 1M.
import type { Bench, BenchContext } from '../bench/index.ts';
import type { Pool } from '../infra/index.ts';
import { accountVolumes, replayProjection } from './projections/index.ts';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { appendAll, fundStreamAccounts, streamAccountsCount, transfers, type StreamReport } from './append-stream.ts';
import { verifyLedger } from './verify.ts';
import { LedgerWriter } from './writer.ts';

const accountsCount = streamAccountsCount;

/** Runs `node ledger/append-stream.ts` in a process of its own; its progress goes to stderr. */
async function streamInFreshProcess(url: string, prefix: string, count: number): Promise<StreamReport> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./append-stream.ts', import.meta.url)), url, prefix, String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`append-stream ${prefix} exited with ${code}`);
  return JSON.parse(output) as StreamReport;
}

async function writerCase(pool: Pool, batchSizeMax: number, count: number, prefix: string): Promise<number> {
  const writer = new LedgerWriter({ pool, batchSizeMax });
  try {
    return await appendAll(writer, prefix, count);
  } finally {
    await writer.close();
  }
}

async function baselineCase(pool: Pool, count: number): Promise<number> {
  await pool.query(`
    CREATE TABLE bench_accounts (id int PRIMARY KEY, balance numeric(78,0) NOT NULL, CHECK (balance >= 0));
    CREATE TABLE bench_entries (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, idempotency_key text NOT NULL UNIQUE, inserted_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE bench_postings (entry_id bigint NOT NULL REFERENCES bench_entries (id), source int NOT NULL REFERENCES bench_accounts (id),
      destination int NOT NULL REFERENCES bench_accounts (id), amount numeric(78,0) NOT NULL CHECK (amount > 0), PRIMARY KEY (entry_id));
    INSERT INTO bench_accounts SELECT g, 1000000000000000000000 FROM generate_series(0, ${accountsCount - 1}) g;
    CREATE FUNCTION bench_transfer(k text, a int, b int, amt numeric) RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE e bigint;
    BEGIN
      PERFORM 1 FROM bench_accounts WHERE id IN (a, b) ORDER BY id FOR UPDATE;
      INSERT INTO bench_entries (idempotency_key) VALUES (k) RETURNING id INTO e;
      INSERT INTO bench_postings VALUES (e, a, b, amt);
      UPDATE bench_accounts SET balance = balance - amt WHERE id = a;
      UPDATE bench_accounts SET balance = balance + amt WHERE id = b;
      RETURN e;
    END $$;`);
  const requests = transfers('baseline', count);
  const clientsCount = 8;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clientsCount }, async () => {
      const client = await pool.connect();
      try {
        while (next < requests.length) {
          const request = requests[next++]!;
          const p = request.postings[0]!;
          await client.query('SELECT bench_transfer($1, $2, $3, $4)', [request.idempotencyKey, Number(p.source.split(':')[1]), Number(p.destination.split(':')[1]), p.amount.toString()]);
        }
      } finally {
        client.release();
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/**
 * The same entry and posting rows, 500 a statement, into copies of the ledger's tables: `raw`
 * copies columns and NOT NULL only (no keys, checks, indexes or triggers: the physical limit);
 * `indexed` also copies the keys, indexes and CHECKs, still without triggers (no balances,
 * floors or seals) — what the rows alone cost before the writer adds anything.
 */
async function copyCase(pool: Pool, count: number, batch: number, copy: 'raw' | 'indexed'): Promise<number> {
  const like = copy === 'raw' ? '' : ' INCLUDING ALL';
  await pool.query(`CREATE TABLE ${copy}_entries (LIKE journal_entries${like}); CREATE TABLE ${copy}_postings (LIKE postings${like});`);
  const requests = transfers(copy, count);
  const started = performance.now();
  for (let offset = 0; offset < count; offset += batch) {
    const slice = requests.slice(offset, offset + batch);
    const ids = slice.map((_, i) => String(offset + i + 1));
    await pool.query(
      `WITH e AS (INSERT INTO ${copy}_entries (id, kind, idempotency_key, request_hash, effective_at, inserted_at, source_ref, metadata, reverses)
         SELECT id, 'transfer', key, decode(md5(key) || md5(key), 'hex'), now(), now(), NULL, '{}', NULL
         FROM unnest($1::bigint[], $2::text[]) AS t(id, key))
       INSERT INTO ${copy}_postings (entry_id, posting_index, asset_id, source_account_id, destination_account_id, amount)
         SELECT id, 0, 1, src, dst, amount FROM unnest($1::bigint[], $3::bigint[], $4::bigint[], $5::numeric[]) AS t(id, src, dst, amount)`,
      [
        ids,
        slice.map((r) => r.idempotencyKey),
        slice.map((r) => r.postings[0]!.source.split(':')[1]),
        slice.map((r) => r.postings[0]!.destination.split(':')[1]),
        slice.map((r) => r.postings[0]!.amount.toString()),
      ],
    );
  }
  return count / ((performance.now() - started) / 1000);
}

const round = (value: number) => Math.round(value);
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

export const ledgerBench: Bench = async ({ pool, url, quick, progress }: BenchContext) => {
  const sizes = quick
    ? { batch1: 200, batch100: 2_000, batch500: 5_000, baseline: 500, raw: 5_000, indexed: 5_000, memorySmall: 10_000, memoryLarge: 40_000 }
    : { batch1: 2_000, batch100: 20_000, batch500: 50_000, baseline: 5_000, raw: 50_000, indexed: 50_000, memorySmall: 100_000, memoryLarge: 1_000_000 };
  progress(`funding ${accountsCount} accounts`);
  await fundStreamAccounts(pool);

  progress('baseline: one transaction per transfer, 8 connections');
  const baseline = await baselineCase(pool, sizes.baseline);
  progress('raw INSERT into unconstrained copies, 500 rows a statement');
  const raw = await copyCase(pool, sizes.raw, 500, 'raw');
  progress('the same INSERT into copies with the real keys, indexes and CHECKs (no triggers)');
  const indexed = await copyCase(pool, sizes.indexed, 500, 'indexed');
  progress('writer, batch size 1');
  const batch1 = await writerCase(pool, 1, sizes.batch1, 'b1');
  progress('writer, batch size 100');
  const batch100 = await writerCase(pool, 100, sizes.batch100, 'b100');
  progress('writer, batch size 500');
  const batch500 = await writerCase(pool, 500, sizes.batch500, 'b500');

  // Memory: what appending needs must not grow with how much is appended (stream, never hold
  // the journal). Two fresh processes, one appending 100k postings and one 1M (which also
  // grows the journal for replay and verify; its first and last 100k must run as fast).
  progress(`memory: a fresh process appends ${sizes.memorySmall} postings`);
  const small = await streamInFreshProcess(url, 'small', sizes.memorySmall);
  progress(`memory: a fresh process appends ${sizes.memoryLarge} postings`);
  const large = await streamInFreshProcess(url, 'large', sizes.memoryLarge);

  progress('replay of account_volumes');
  const totalPostings = accountsCount + sizes.batch1 + sizes.batch100 + sizes.batch500 + sizes.memorySmall + sizes.memoryLarge;
  const replayStarted = performance.now();
  const replay = await replayProjection(pool, accountVolumes);
  const replaySeconds = (performance.now() - replayStarted) / 1000;
  progress('verify');
  const verifyStarted = performance.now();
  const report = await verifyLedger(pool);
  const verifySeconds = (performance.now() - verifyStarted) / 1000;
  if (!report.ok) throw new Error(`verify failed after the bench: ${JSON.stringify(report.checks.filter((c) => !c.ok))}`);

  return {
    bench: 'ledger',
    metrics: {
      batch1: { postingsPerSec: round(batch1) },
      batch100: { postingsPerSec: round(batch100) },
      batch500: { postingsPerSec: round(batch500) },
      baseline: { postingsPerSec: round(baseline) },
      raw: { postingsPerSec: round(raw) },
      indexed: { postingsPerSec: round(indexed) },
      stream: { postingsPerSec: large.postingsPerSec, firstPostingsPerSec: large.firstPostingsPerSec, lastPostingsPerSec: large.lastPostingsPerSec, postings: large.postings },
      replay: { postingsPerSec: round(totalPostings / replaySeconds), postings: totalPostings, diffRows: replay.diff.different + replay.diff.onlyLive + replay.diff.onlyReplay },
      verify: {
        seconds: Math.round(verifySeconds * 100) / 100,
        postings: Number(report.postings),
        ...Object.fromEntries(report.checks.map((check) => [`${check.name}Ms`, check.durationMs ?? 0])),
      },
      memory: { peakRssSmallMb: small.peakRssMb, smallPostings: small.postings, peakRssLargeMb: large.peakRssMb, largePostings: large.postings },
    },
    ratios: {
      batch500_vs_baseline: ratio(batch500, baseline),
      batch500_vs_raw: ratio(batch500, raw),
      // How much of the gap to raw the tables' own keys, indexes and CHECKs explain.
      indexed_vs_raw: ratio(indexed, raw),
      batch500_vs_indexed: ratio(batch500, indexed),
      batch100_vs_baseline: ratio(batch100, baseline),
      batch1_vs_baseline: ratio(batch1, baseline),
      memory_large_vs_small: ratio(large.peakRssMb, small.peakRssMb),
      append_last_vs_first: ratio(large.lastPostingsPerSec, large.firstPostingsPerSec),
    },
  };
};
