// `coffer bench ledger`: the writer at batch sizes 1, 100 and 500 with every invariant on,
// against (a) the same transfers as one transaction each through a pgledger-style function on
// 8 connections (the usual way to build a Postgres ledger), and (b) a raw multi-row INSERT of
// the same entry and posting rows into copies of the tables without constraints, indexes or
// triggers (the physical limit of this machine). Then replay and verify over ≥ 1 M postings,
// with peak memory for the first 100k postings and for the rest, which must match.
import type { Bench, BenchContext } from '../bench/index.ts';
import { RssSampler } from '../bench/index.ts';
import type { Pool } from '../infra/index.ts';
import { accountVolumes, replayProjection } from './projections/index.ts';
import type { AppendRequest } from './types.ts';
import { verifyLedger } from './verify.ts';
import { LedgerWriter } from './writer.ts';

const accountsCount = 1_000;
const inFlightMax = 10_000;

function transfers(prefix: string, count: number, offset = 0): AppendRequest[] {
  return Array.from({ length: count }, (_, i) => {
    const n = offset + i;
    // A fixed pseudo-random walk: every run moves the same amounts between the same accounts.
    const from = (n * 7_919) % accountsCount;
    const to = (from + 1 + ((n * 104_729) % (accountsCount - 1))) % accountsCount;
    return {
      kind: 'transfer',
      idempotencyKey: `${prefix}-${n}`,
      postings: [{ source: `users:${from}:wallet`, destination: `users:${to}:wallet`, asset: 'ETH', amount: 1_000n + BigInt(n % 997) }],
    };
  });
}

/** Appends `count` transfers, at most `inFlightMax` waiting at once; returns postings per second. */
async function appendAll(writer: LedgerWriter, prefix: string, count: number, offset = 0, onWindow?: (done: number) => void): Promise<number> {
  const started = performance.now();
  for (let done = 0; done < count; done += inFlightMax) {
    const window = transfers(prefix, Math.min(inFlightMax, count - done), offset + done);
    const results = await writer.appendMany(window);
    const refused = results.find((r) => r.status !== 'created');
    if (refused) throw new Error(`bench transfer was not created: ${JSON.stringify(refused, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
    onWindow?.(done + window.length);
  }
  return count / ((performance.now() - started) / 1000);
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

async function rawCase(pool: Pool, count: number, batch: number): Promise<number> {
  // LIKE copies columns and NOT NULL only: no keys, checks, indexes or triggers.
  await pool.query(`CREATE TABLE raw_entries (LIKE journal_entries); CREATE TABLE raw_postings (LIKE postings);`);
  const requests = transfers('raw', count);
  const started = performance.now();
  for (let offset = 0; offset < count; offset += batch) {
    const slice = requests.slice(offset, offset + batch);
    const ids = slice.map((_, i) => String(offset + i + 1));
    await pool.query(
      `WITH e AS (INSERT INTO raw_entries (id, kind, idempotency_key, request_hash, effective_at, inserted_at, source_ref, metadata, reverses)
         SELECT id, 'transfer', key, decode(md5(key) || md5(key), 'hex'), now(), now(), NULL, '{}', NULL
         FROM unnest($1::bigint[], $2::text[]) AS t(id, key))
       INSERT INTO raw_postings (entry_id, posting_index, asset_id, source_account_id, destination_account_id, amount)
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

export const ledgerBench: Bench = async ({ pool, quick, progress }: BenchContext) => {
  const sizes = quick
    ? { batch1: 200, batch100: 2_000, batch500: 5_000, baseline: 500, raw: 5_000, replayTotal: 40_000, memoryFirst: 10_000 }
    : { batch1: 2_000, batch100: 20_000, batch500: 50_000, baseline: 5_000, raw: 50_000, replayTotal: 1_000_000, memoryFirst: 100_000 };
  const rss = new RssSampler();
  try {
    progress(`funding ${accountsCount} accounts`);
    const funder = new LedgerWriter({ pool, batchSizeMax: 500 });
    await funder.appendMany(
      Array.from({ length: accountsCount }, (_, i) => ({
        kind: 'deposit',
        idempotencyKey: `fund-${i}`,
        postings: [{ source: 'world:ethereum', destination: `users:${i}:wallet`, asset: 'ETH', amount: 10n ** 24n }],
      })),
    );
    await funder.close();

    progress('baseline: one transaction per transfer, 8 connections');
    const baseline = await baselineCase(pool, sizes.baseline);
    progress('raw INSERT into unconstrained copies, 500 rows a statement');
    const raw = await rawCase(pool, sizes.raw, 500);
    progress('writer, batch size 1');
    const batch1 = await writerCase(pool, 1, sizes.batch1, 'b1');
    progress('writer, batch size 100');
    const batch100 = await writerCase(pool, 100, sizes.batch100, 'b100');
    progress('writer, batch size 500');
    const batch500 = await writerCase(pool, 500, sizes.batch500, 'b500');

    const already = accountsCount + sizes.batch1 + sizes.batch100 + sizes.batch500;
    const fill = Math.max(0, sizes.replayTotal - already);
    progress(`appending ${fill} more postings (to ${sizes.replayTotal}) for replay, verify and memory`);
    const writer = new LedgerWriter({ pool, batchSizeMax: 500 });
    rss.reset();
    let peakFirst = 0;
    // Appending must not slow down as the journal grows (a plan that walks the whole journal
    // once did, past ~550k postings): compare the first and the last memoryFirst appends.
    const fillStarted = performance.now();
    let firstSeconds = 0;
    let lastStartedAt = 0;
    const lastFrom = Math.max(sizes.memoryFirst, Math.floor((fill - sizes.memoryFirst) / inFlightMax) * inFlightMax);
    // Windows are inFlightMax (10k) appends, so memoryFirst is a multiple of it.
    const fillRate = await appendAll(writer, 'fill', fill, 0, (done) => {
      if (done <= sizes.memoryFirst) peakFirst = rss.peakMb();
      if (done === sizes.memoryFirst) {
        rss.reset();
        firstSeconds = (performance.now() - fillStarted) / 1000;
      }
      if (done === lastFrom) lastStartedAt = performance.now();
      if (done % 100_000 === 0) progress(`  ${done}/${fill}`);
    });
    const peakRest = rss.peakMb();
    const lastSeconds = (performance.now() - lastStartedAt) / 1000;
    const firstRate = sizes.memoryFirst / firstSeconds;
    const lastRate = (fill - lastFrom) / lastSeconds;
    await writer.close();

    progress('replay of account_volumes');
    const totalPostings = already + fill;
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
        fill: { postingsPerSec: round(fillRate), firstPostingsPerSec: round(firstRate), lastPostingsPerSec: round(lastRate) },
        replay: { postingsPerSec: round(totalPostings / replaySeconds), postings: totalPostings, diffRows: replay.diff.different + replay.diff.onlyLive + replay.diff.onlyReplay },
        verify: {
          seconds: Math.round(verifySeconds * 100) / 100,
          postings: Number(report.postings),
          ...Object.fromEntries(report.checks.map((check) => [`${check.name}Ms`, check.durationMs ?? 0])),
        },
        memory: { peakRssFirstMb: peakFirst, peakRssRestMb: peakRest, firstPostings: sizes.memoryFirst, totalPostings },
      },
      ratios: {
        batch500_vs_baseline: ratio(batch500, baseline),
        batch500_vs_raw: ratio(batch500, raw),
        batch100_vs_baseline: ratio(batch100, baseline),
        batch1_vs_baseline: ratio(batch1, baseline),
        memory_rest_vs_first: ratio(peakRest, peakFirst),
        append_last_vs_first: ratio(lastRate, firstRate),
      },
    };
  } finally {
    rss.stop();
  }
};
