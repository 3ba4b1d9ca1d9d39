// `coffer bench sponsor`: sponsorship decisions through the ERC-7677 service, against signing
// alone, in the same run.
//
//   decisions_global   pm_getPaymasterData as the API calls it, 8 in flight, over 200 senders:
//                      read the policy (7 rules, a global cap among them, so every decision
//                      takes the global lock), count the sender's rate, throttle and windows,
//                      judge, sign, and record the decision, in one transaction each
//   decisions_sender   the same without the global cap: decisions serialize per sender only
//   signing            the baseline: the paymaster hash and the sponsor key's signature alone,
//                      in memory (ratios decisions_*_vs_signing)
import type { Address, Hex } from 'viem';
import type { BenchContext, BenchResult } from '../bench/index.ts';
import { silentLogger } from '../infra/index.ts';
import { inMemorySigner, unsignedUserOperation } from '../testing/user-operations.ts';
import { setSponsorPolicy } from './decisions.ts';
import type { SponsorPolicyInput } from './policy.ts';
import { handlePaymasterRpc, type SponsorContext } from './service.ts';
import { paymasterHash, parseUserOperation } from './user-operation.ts';

const concurrency = 8;
const senders = 200;
const entryPoint: Address = '0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108';
const paymaster: Address = '0x0165878A594ca255338adfa4d48449f69242Eb8F';
const target: Address = '0x000000000000000000000000000000000000dEaD';
const execute: Hex = `0xb61d27f6${target.slice(2).toLowerCase().padStart(64, '0')}${'0'.repeat(64)}${(96).toString(16).padStart(64, '0')}${'0'.repeat(64)}`;

const senderCaps: SponsorPolicyInput['rules'] = [
  { type: 'per_sender', maxCount: 1_000_000, window: { rolling: '24h' } },
  { type: 'per_sender', maxWei: (10n ** 24n).toString(), window: { calendar: 'day' } },
  { type: 'per_operation', maxWei: (10n ** 18n).toString() },
  { type: 'targets', allow: [target] },
  { type: 'selectors', allow: ['0xa9059cbb'] },
  { type: 'gas', callGasLimit: '1000000', maxFeePerGas: '500000000000' },
];
const withGlobal: SponsorPolicyInput['rules'] = [...senderCaps, { type: 'global', maxWei: (10n ** 30n).toString(), window: { rolling: '24h' } }];

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timedPool(count: number, work: (index: number) => Promise<unknown>, inFlight: number): Promise<{ perSecond: number; p50Ms: number; p95Ms: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const index = next++;
        const t0 = performance.now();
        await work(index);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 100) / 100;
  return { perSecond: Math.round(count / seconds), p50Ms: round(percentile(latencies, 50)), p95Ms: round(percentile(latencies, 95)) };
}

export async function sponsorBench(context: BenchContext): Promise<BenchResult> {
  const operations = context.quick ? 400 : 1_500;
  const signer = inMemorySigner('bench-sponsor');
  const ctx: SponsorContext = {
    pool: context.pool, logger: silentLogger, chainId: 31_337, entryPoint, paymaster, signer, validitySeconds: 300, paymasterVerificationGasLimit: 60_000n,
    signaturesPerMinuteMax: 1_000_000, unincludedMax: 1_000_000,
  };
  let nonce = 0;
  const op = (index: number) => unsignedUserOperation(`0x${(0x1000 + (index % senders)).toString(16).padStart(40, '0')}`, nonce++, execute);
  const decide = async (index: number) => {
    const answer = await handlePaymasterRpc(ctx, { jsonrpc: '2.0', id: index, method: 'pm_getPaymasterData', params: [op(index), entryPoint, '0x7a69', null] }, { apiKeyId: null });
    if (!('result' in answer)) throw new Error(`the bench policy refused: ${JSON.stringify(answer.error)}`);
  };
  const sign = (index: number) => {
    const parsed = parseUserOperation(op(index));
    const hash = paymasterHash(parsed, { verificationGasLimit: 60_000n, postOpGasLimit: 0n }, { chainId: 31_337, paymaster, validUntil: 2_000_000_000, validAfter: 0 });
    signer.signMessage(hash);
    return Promise.resolve();
  };

  context.progress(`signing alone: ${operations} signatures`);
  await timedPool(50, sign, 1);
  const signing = await timedPool(operations, sign, 1);
  context.progress(`decisions, per-sender caps: ${operations} over ${senders} senders, ${concurrency} in flight`);
  await setSponsorPolicy(context.pool, { rules: senderCaps }, 'bench');
  await timedPool(50, decide, concurrency);
  const perSender = await timedPool(operations, decide, concurrency);
  context.progress(`decisions, with a global cap: ${operations}`);
  await setSponsorPolicy(context.pool, { rules: withGlobal }, 'bench');
  const global = await timedPool(operations, decide, concurrency);
  const { rows } = await context.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM sponsor_decisions WHERE outcome = 'signed'`);
  if (rows[0]!.n !== 2 * operations + 50) throw new Error(`expected ${2 * operations + 50} recorded signed decisions, found ${rows[0]!.n}`);

  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
  return {
    bench: 'sponsor',
    metrics: {
      decisions_global: { per_second: global.perSecond, p50_ms: global.p50Ms, p95_ms: global.p95Ms },
      decisions_sender: { per_second: perSender.perSecond, p50_ms: perSender.p50Ms, p95_ms: perSender.p95Ms },
      signing: { per_second: signing.perSecond, p50_ms: signing.p50Ms, p95_ms: signing.p95Ms },
    },
    ratios: {
      decisions_global_vs_signing: ratio(global.perSecond, signing.perSecond),
      decisions_sender_vs_signing: ratio(perSender.perSecond, signing.perSecond),
      p95_global_vs_signing: ratio(global.p95Ms, signing.p95Ms),
    },
    notes: [`${operations} pm_getPaymasterData per case, ${concurrency} in flight, ${senders} senders; every decision recorded in sponsor_decisions`],
  };
}
