// `coffer bench policy`: spend decisions with a 10-rule policy across 1,000 active wallets.
//
//   decisions   decideSpend as the workers call it, 8 at a time: lock the wallet, read the
//               policy, sum its windows, judge, and — allowed — append the hold with its
//               spend-window row, its outbox rows and its audit event, in one transaction
//   plain_hold  the baseline: the same hold entries appended through the same writer, one
//               transaction each, 8 at a time, with no policy at all (ratio decisions_vs_plain_hold)
//   evaluate    the pure rule check alone, in memory (what the engine itself costs)
//
// The gas estimate is a fixed value here: an RPC round trip to a node happens before the
// decision's transaction, and this bench measures the decision, not the node.
import { randomBytes } from 'node:crypto';
import type { BenchContext, BenchResult } from '../bench/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter, spendEntryKinds, type AppendRequest } from '../ledger/index.ts';
import { rootKeys } from '../signer/index.ts';
import { createUser } from '../users/index.ts';
import { evaluatePolicy, parsePolicy, type PolicyInput } from './policy.ts';
import { decideSpend, requestSpend, walletUsage, type SpendContext } from './spends.ts';
import { createWallet, setPolicy } from './wallets.ts';

const concurrency = 8;
const recipient = '0x00000000000000000000000000000000000000b0';
const ether = 10n ** 18n;

export const benchPolicy: PolicyInput = {
  timeZone: 'Europe/Berlin',
  rules: [
    { type: 'per_tx_cap', asset: 'ETH', max: ether.toString() },
    { type: 'window_limit', asset: 'ETH', max: (100n * ether).toString(), window: { rolling: '24h' } },
    { type: 'window_limit', asset: 'ETH', max: (100n * ether).toString(), window: { calendar: 'day' } },
    { type: 'window_limit', asset: 'ETH', max: (500n * ether).toString(), window: { calendar: 'week' } },
    { type: 'velocity', max: 1_000, window: { rolling: '1h' } },
    { type: 'recipients', allow: [recipient, '0x00000000000000000000000000000000000000b1'] },
    { type: 'contracts', allow: ['0x00000000000000000000000000000000000000c0'] },
    { type: 'tokens', allow: ['ETH'] },
    { type: 'hours', from: '00:00', to: '23:59' },
    { type: 'cooldown', seconds: 1, severity: 'approve' },
  ],
};

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `work` over `items` with `concurrency` in flight; returns per-item latencies and the wall time. */
async function timedPool<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<{ latenciesMs: number[]; seconds: number }> {
  const latenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        const t0 = performance.now();
        await work(item);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  return { latenciesMs: latenciesMs.sort((a, b) => a - b), seconds: (performance.now() - started) / 1000 };
}

export async function policyBench(context: BenchContext): Promise<BenchResult> {
  const { pool, quick, progress } = context;
  const walletCount = 1_000;
  const decisions = quick ? 1_000 : 5_000;
  const writer = new LedgerWriter({ pool });
  try {
    progress(`creating ${walletCount} wallets with a ${benchPolicy.rules.length}-rule policy`);
    const owner = await createUser(pool, { nearAccountId: 'bench-owner.testnet' });
    const keys = { nearNetwork: 'testnet' as const, secp256k1Root: rootKeys.testnet.secp256k1, predecessor: 'coffer.testnet' };
    const wallets = Array.from({ length: walletCount }, (_, i) => `bench-${i}`);
    for (const id of wallets) {
      await createWallet(pool, keys, { id, ownerUserId: owner.id, actor: 'bench' });
      await setPolicy(pool, id, benchPolicy, 'bench');
    }
    const funding = await writer.appendMany(
      wallets.map((id) => ({ kind: 'adjustment', idempotencyKey: `bench-fund:${id}`, postings: [{ source: 'world:ethereum', destination: `wallets:${id}:available`, asset: 'ETH', amount: 1_000n * ether }] })),
    );
    if (funding.some((r) => r.status !== 'created')) throw new Error('funding the bench wallets failed');

    progress(`requesting ${decisions} spends (not measured)`);
    const spendIds: string[] = [];
    for (let i = 0; i < decisions; i++) {
      const { spend } = await requestSpend(pool, { walletId: wallets[i % walletCount]!, idempotencyKey: `bench-${i}`, body: { to: recipient, asset: 'ETH', amount: (ether / 1_000n).toString() }, requestedBy: 'bench' });
      spendIds.push(spend.id);
    }
    const spendContext: SpendContext = {
      pool,
      writer,
      logger: silentLogger,
      estimateGas: () => Promise.resolve({ gasLimit: 25_200n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n }),
    };

    progress(`deciding ${decisions} spends, ${concurrency} at a time`);
    const outcomes = new Map<string, number>();
    const decided = await timedPool(spendIds, async (id) => {
      const { outcome } = await decideSpend(spendContext, id);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    });

    progress(`baseline: ${decisions} plain holds through the writer, ${concurrency} at a time`);
    const baseline = await timedPool(
      Array.from({ length: decisions }, (_, i) => i),
      (i) =>
        writer.transaction(async (tx) => {
          const id = wallets[i % walletCount]!;
          const request: AppendRequest = {
            kind: 'bench.hold',
            idempotencyKey: `bench-hold:${i}:${randomBytes(4).toString('hex')}`,
            metadata: { walletId: id },
            postings: [{ source: `wallets:${id}:available`, destination: `wallets:${id}:held`, asset: 'ETH', amount: ether / 1_000n + 50_400_000_000_000n }],
          };
          const [result] = await tx.append([request]);
          if (result?.status !== 'created') throw new Error(`baseline hold ${i} was not created`);
        }),
    );

    progress('evaluating the policy in memory');
    const policy = parsePolicy(benchPolicy);
    const usage = await walletUsage(pool, wallets[0]!, policy, new Date());
    const evaluations = quick ? 20_000 : 100_000;
    const facts = { asset: 'ETH', amount: ether / 1_000n, recipient, txTo: recipient, callData: null, at: new Date() };
    const t0 = performance.now();
    for (let i = 0; i < evaluations; i++) evaluatePolicy(policy, facts, usage);
    const evaluateSeconds = (performance.now() - t0) / 1000;

    const { rows } = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM journal_entries WHERE kind = '${spendEntryKinds.hold}'`);
    const perSec = Math.round(decisions / decided.seconds);
    const baselinePerSec = Math.round(decisions / baseline.seconds);
    return {
      bench: 'policy',
      metrics: {
        decisions: {
          perSec,
          p50Ms: Math.round(percentile(decided.latenciesMs, 50) * 10) / 10,
          p95Ms: Math.round(percentile(decided.latenciesMs, 95) * 10) / 10,
          count: decisions,
          allowed: outcomes.get('allow') ?? 0,
          escalated: outcomes.get('approve') ?? 0,
          rejected: outcomes.get('reject') ?? 0,
          wallets: walletCount,
          rules: benchPolicy.rules.length,
        },
        plain_hold: { perSec: baselinePerSec, p95Ms: Math.round(percentile(baseline.latenciesMs, 95) * 10) / 10 },
        evaluate: { perSec: Math.round(evaluations / evaluateSeconds) },
      },
      ratios: { decisions_vs_plain_hold: Math.round((perSec / baselinePerSec) * 1000) / 1000 },
      notes: [`${rows[0]!.n} holds in the journal after the decisions`, 'gas estimates are fixed: the node round trip precedes the decision and is not measured'],
    };
  } finally {
    await writer.close();
  }
}
