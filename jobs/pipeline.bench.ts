// `coffer bench pipeline`: from a deposit's confirmation to its CHOCO credit, through the real
// path — the confirmation and its outbox row committed together (as the indexer does), the
// dispatcher, BullMQ on Redis, a worker, Hermes (the local replay server, over HTTP) and the
// ledger writer.
//
//   steady     deposits arrive in small batches at a steady rate; latency from the
//              confirmation's commit to the credit's commit (both PostgreSQL clock), p50/p95
//   burst      N confirmations at once: deposits credited per second
//   direct     the same credit function called in-process with the same concurrency, no outbox
//              or queue: the baseline the burst is compared with (ratio pipeline_vs_direct)
import { randomBytes } from 'node:crypto';
import type { BenchContext, BenchResult } from '../bench/index.ts';
import { startHermesReplay } from '../devnets/index.ts';
import { loadConfig, silentLogger, type Pool } from '../infra/index.ts';
import { depositEntryKinds, LedgerWriter, type AppendRequest, type AppendResult } from '../ledger/index.ts';
import { createUser } from '../users/index.ts';
import { creditDeposit, type CreditContext } from '../credits/credits.ts';
import { OutboxDispatcher } from './dispatcher.ts';
import { enqueue } from '../infra/index.ts';
import { PriceSource } from '../credits/prices.ts';
import { closeQueues, openQueues, redisConnection } from './queues.ts';
import { parseAssetPricing, parseChainMinimums, parseDecimal } from '../credits/valuation.ts';
import { startWorkers } from './workers.ts';

const concurrency = 8;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Writes `count` confirmed deposits in one transaction; with `outbox`, their credit jobs too. */
export async function confirmDeposits(writer: LedgerWriter, users: string[], count: number, outbox: boolean): Promise<bigint[]> {
  return writer.transaction(async (tx) => {
    const requests = Array.from({ length: count }, (_, i): AppendRequest[] => {
      const userId = users[i % users.length]!;
      const address = '0x' + randomBytes(20).toString('hex');
      const keyBase = `ethereum:0x${randomBytes(32).toString('hex')}:value`;
      const depositKey = `${keyBase}:deposit@0xbench`;
      return [
        {
          kind: depositEntryKinds.pending,
          idempotencyKey: depositKey,
          effectiveAt: new Date(Date.now() - 20_000),
          metadata: { chain: 'ethereum', userId, address },
          postings: [{ source: 'world:ethereum', destination: `deposits:ethereum:${address}:pending`, asset: 'ETH', amount: 10n ** 17n }],
        },
        {
          kind: depositEntryKinds.confirmed,
          idempotencyKey: `${keyBase}:confirm@0xbench`,
          metadata: { depositKey },
          postings: [{ source: `deposits:ethereum:${address}:pending`, destination: `custody:ethereum:${address}`, asset: 'ETH', amount: 10n ** 17n }],
        },
      ];
    }).flat();
    const results = await tx.append(requests);
    const ids = results.filter((_, i) => i % 2 === 1).map((r: AppendResult) => (r.status === 'created' ? r.entry.id : 0n));
    if (outbox) {
      await enqueue(
        tx.client,
        ids.map((id) => ({ queue: 'credits' as const, name: 'credit-deposit', dedupeKey: `credit:${id}`, payload: { confirmationEntryId: id.toString() } })),
      );
    }
    return ids;
  });
}

async function creditedCount(pool: Pool, ids: bigint[]): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM credit_decisions WHERE confirmation_entry_id = ANY($1::bigint[])', [ids.map(String)]);
  return Number(rows[0]!.n);
}

export async function waitForCredits(pool: Pool, ids: bigint[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await creditedCount(pool, ids)) < ids.length) {
    if (Date.now() > deadline) throw new Error(`only ${await creditedCount(pool, ids)} of ${ids.length} deposits credited in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function pipelineBench({ pool, quick, progress }: BenchContext): Promise<BenchResult> {
  const config = loadConfig();
  const steadyCount = quick ? 200 : 1_000;
  const burstCount = quick ? 500 : 3_000;
  const hermes = await startHermesReplay();
  const writer = new LedgerWriter({ pool });
  const prefix = `${config.REDIS_KEY_PREFIX}bench-${randomBytes(3).toString('hex')}`;
  const connection = redisConnection(config.REDIS_URL);
  const queues = openQueues({ connection, prefix, attempts: 5, backoffMs: 200 });
  const context: CreditContext = {
    pool,
    writer,
    prices: new PriceSource({ db: pool, hermesUrl: hermes.url, limits: { maxAgeSeconds: 60, maxConfBps: 200 } }),
    settings: { pricing: parseAssetPricing(undefined), minimumsUsd: parseChainMinimums(undefined), chocoPerUsd: parseDecimal('100', 'bench'), sweepChains: new Set() },
  };
  const users: string[] = [];
  for (let i = 0; i < 50; i += 1) users.push((await createUser(pool, { nearAccountId: `bench-${randomBytes(4).toString('hex')}.testnet` })).id);

  const workers = startWorkers({ pool, logger: silentLogger, connection, prefix, concurrency, credits: context });
  const dispatcher = new OutboxDispatcher({ pool, queues, pollIntervalMs: 1_000 });
  await dispatcher.start();
  try {
    // Warm-up: connections, the price path, the plans.
    await waitForCredits(pool, await confirmDeposits(writer, users, 20, true), 60_000);

    progress(`steady: ${steadyCount} deposits in batches of 10 every 100 ms`);
    const steadyIds: bigint[] = [];
    for (let sent = 0; sent < steadyCount; sent += 10) {
      steadyIds.push(...(await confirmDeposits(writer, users, 10, true)));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitForCredits(pool, steadyIds, 120_000);
    const { rows } = await pool.query<{ ms: number }>(
      `SELECT (extract(epoch FROM (c.inserted_at - e.inserted_at)) * 1000)::float8 AS ms
         FROM credit_decisions d JOIN journal_entries e ON e.id = d.confirmation_entry_id JOIN journal_entries c ON c.id = d.credit_entry_id
        WHERE d.confirmation_entry_id = ANY($1::bigint[]) ORDER BY ms`,
      [steadyIds.map(String)],
    );
    const latencies = rows.map((r) => r.ms);

    progress(`burst: ${burstCount} confirmations at once through outbox and BullMQ`);
    let started = performance.now();
    const burstIds = await confirmDeposits(writer, users, burstCount, true);
    await waitForCredits(pool, burstIds, 300_000);
    const pipelineSeconds = (performance.now() - started) / 1000;

    await dispatcher.stop();
    await workers.close();
    progress(`direct: ${burstCount} credits called in-process, ${concurrency} at a time`);
    const directIds = await confirmDeposits(writer, users, burstCount, false);
    started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < directIds.length) await creditDeposit(context, directIds[next++]!);
      }),
    );
    const directSeconds = (performance.now() - started) / 1000;

    const pipelinePerS = Math.round(burstCount / pipelineSeconds);
    const directPerS = Math.round(burstCount / directSeconds);
    return {
      bench: 'pipeline',
      metrics: {
        credit_latency_ms: { p50: Math.round(percentile(latencies, 50)), p95: Math.round(percentile(latencies, 95)), max: Math.round(latencies.at(-1) ?? 0), deposits: latencies.length },
        burst_pipeline: { deposits: burstCount, seconds: Math.round(pipelineSeconds * 100) / 100, per_second: pipelinePerS },
        burst_direct: { deposits: burstCount, seconds: Math.round(directSeconds * 100) / 100, per_second: directPerS },
      },
      ratios: { pipeline_vs_direct: Math.round((pipelinePerS / directPerS) * 100) / 100 },
      notes: [
        `latency: from the confirmation's commit to the credit's commit, ${steadyCount} deposits arriving at ~100/s; target p50 < 1000 ms`,
        `every credit asks the local Hermes replay server for the price at the deposit's time over HTTP; worker concurrency ${concurrency}`,
      ],
    };
  } finally {
    await dispatcher.stop();
    await workers.close();
    for (const queue of Object.values(queues)) await queue.obliterate({ force: true }).catch(() => undefined);
    await closeQueues(queues);
    await writer.close();
    await hermes.stop();
  }
}
