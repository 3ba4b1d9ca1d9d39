// `coffer bench relayer`: sustained relayed transactions per minute for one relayer on anvil,
// through the Defender-compatible HTTP API (login, send, sign under the nonce lock, store,
// broadcast, monitor to confirmation, book the gas), against the same number of transactions
// signed with a keystore key and sent raw to the same node (the baseline: what the chain and
// signing alone allow). Nonces are checked gapless at the end. Every wait has a deadline that
// grows with the size and fails saying what it waited for: a bench that hangs measures nothing.
import { createWalletClient, http, type Hex } from 'viem';
import type { Pool } from '../infra/index.ts';
import type { Bench } from '../bench/index.ts';
import { signEvmTransactionWithKey } from '../chains/index.ts';
import { sendInNonceOrder, waitMined } from './raw-sends.ts';
import { OperationalKeys } from './relayers.ts';
import { createRelayBed, ether } from '../testing/relay-bed.ts';

/** Limits of the waits: a fixed allowance plus a tenth of a second per transaction, several times a normal run's pace. */
const waitBaseMs = 60_000;
const waitPerTransactionMs = 100;
/** The raw baseline resends from the chain nonce when no nonce was mined for this long. */
const rawStallMs = 2_000;
const sendTimeoutMs = 30_000;
const pollMs = 20;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/** Runs `work` for 0..count-1 in index order, `concurrency` at a time; the first failure stops the rest and is thrown. */
async function inParallel<T>(count: number, concurrency: number, work: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  let failed = false;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!failed && next < count) {
        const index = next++;
        try {
          results[index] = await work(index);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    }),
  );
  return results;
}

/** Waits until every relayed transaction is confirmed, or fails saying where each one stands. */
async function waitConfirmed(pool: Pool, count: number, timeoutMs: number, chainNonce: () => Promise<number>): Promise<void> {
  const started = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM relayer_transactions GROUP BY status ORDER BY status');
    const confirmed = Number(rows.find((r) => r.status === 'confirmed')?.n ?? 0);
    if (confirmed >= count) return;
    if (Date.now() - started > timeoutMs) {
      const states = rows.map((r) => `${r.status} ${r.n}`).join(', ');
      throw new Error(`relayed: timed out after ${Math.round((Date.now() - started) / 1000)} s waiting for ${count} transactions confirmed: ${states}; the relayer's chain nonce is ${await chainNonce()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export const relayerBench: Bench = async ({ pool, url, quick, progress }) => {
  const transactions = quick ? 300 : 1_500;
  const concurrency = 16;
  const bed = await createRelayBed({ confirmations: 1, relayerFundTo: 500n * ether, database: { name: 'bench', url, pool, drop: () => Promise.resolve() } });
  try {
    // Baseline: a keystore key signs N transfers and sends them raw, 16 at a time, until all are mined.
    await bed.keystore.create('bench-raw', 'secp256k1');
    const raw = await new OperationalKeys(bed.keystore).get('bench-raw');
    const funding = await createWalletClient({ account: bed.anvil.accounts[5]!, transport: http(bed.anvil.url) }).sendTransaction({ to: raw.address, value: 100n * ether, chain: null });
    await bed.client.waitForTransactionReceipt({ hash: funding, pollingInterval: pollMs, timeout: sendTimeoutMs });
    const fees = await bed.ctx.fees.forSpeed('fast');
    const waitMs = waitBaseMs + transactions * waitPerTransactionMs;
    const rawStart = performance.now();
    const signed = Array.from({ length: transactions }, (_, nonce) => signEvmTransactionWithKey(raw, { type: 'eip1559', chainId: bed.relayer.chainId, nonce, to: bed.anvil.accounts[6]!, value: BigInt(nonce + 1), gas: 21_000n, ...fees }).raw);
    // In nonce order, 16 in flight; what the node refused or lost is sent again when the chain nonce stalls.
    const first = await sendInNonceOrder(bed.client, signed, concurrency);
    if (first.firstError) progress(`raw: the node refused ${first.refused.length} sends (first: ${first.firstError}); resending on a stall`);
    const { resent } = await waitMined(bed.client, raw.address, signed, {
      timeoutMs: waitMs,
      stallMs: rawStallMs,
      resendCount: concurrency,
      pollMs,
      onStall: (nonce) => progress(`raw: no nonce mined for ${rawStallMs} ms, at ${nonce} of ${transactions}; sending ${concurrency} again from there`),
    });
    const rawSeconds = (performance.now() - rawStart) / 1000;
    progress(`raw: ${transactions} in ${rawSeconds.toFixed(2)} s`);

    // Relayed: the HTTP API, as a Defender client uses it, until every one is confirmed and booked.
    const loginResponse = await fetch(`${bed.url}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ apiKey: bed.apiKey, secretKey: bed.apiSecret, type: 'relay' }), signal: AbortSignal.timeout(sendTimeoutMs) });
    if (!loginResponse.ok) throw new Error(`login answered ${loginResponse.status}: ${await loginResponse.text()}`);
    const login = (await loginResponse.json()) as { accessToken: string };
    const headers = { 'Content-Type': 'application/json', 'X-Api-Key': bed.apiKey, Authorization: `Bearer ${login.accessToken}` };
    const latencies: number[] = [];
    const start = performance.now();
    const sent = await inParallel(transactions, concurrency, async (i) => {
      const t0 = performance.now();
      const response = await fetch(`${bed.url}/relayers/self/txs`, { method: 'POST', headers, body: JSON.stringify({ to: bed.anvil.accounts[7]!, value: `0x${(i + 1).toString(16)}`, speed: 'fast', gasLimit: 21_000 }), signal: AbortSignal.timeout(sendTimeoutMs) });
      if (!response.ok) throw new Error(`send ${i} answered ${response.status}: ${await response.text()}`);
      latencies.push(performance.now() - t0);
      return (await response.json()) as { nonce: number; hash: Hex };
    });
    await waitConfirmed(pool, transactions, waitMs, () => bed.client.getTransactionCount({ address: bed.relayer.address }));
    const seconds = (performance.now() - start) / 1000;
    progress(`relayed: ${transactions} confirmed in ${seconds.toFixed(2)} s`);
    const nonces = new Set(sent.map((s) => s.nonce));
    const chainNonce = await bed.client.getTransactionCount({ address: bed.relayer.address });
    const gapless = nonces.size === transactions && Math.min(...nonces) === 0 && Math.max(...nonces) === transactions - 1 && chainNonce === transactions;
    if (!gapless) throw new Error(`nonces are not gapless: ${nonces.size} distinct, chain nonce ${chainNonce}`);
    const { rows: booked } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM journal_entries WHERE kind = 'relay.settled'`);
    latencies.sort((a, b) => a - b);
    const perMinute = (transactions / seconds) * 60;
    const rawPerMinute = (transactions / rawSeconds) * 60;
    return {
      bench: 'relayer',
      metrics: {
        relayed: { transactions, perMinute: Math.round(perMinute), seconds: Math.round(seconds * 100) / 100, p50SendMs: Math.round(percentile(latencies, 50) * 10) / 10, p95SendMs: Math.round(percentile(latencies, 95) * 10) / 10, ledgerEntries: Number(booked[0]!.n) },
        raw: { transactions, perMinute: Math.round(rawPerMinute), seconds: Math.round(rawSeconds * 100) / 100, resent },
      },
      ratios: { relayed_vs_raw: Math.round((perMinute / rawPerMinute) * 1000) / 1000, relayed_vs_defender_advice: Math.round((perMinute / 50) * 10) / 10 },
      notes: [`one relayer, ${concurrency} clients in flight, anvil automine, 1 confirmation; nonces 0..${transactions - 1} gapless, chain nonce ${chainNonce}`],
    };
  } finally {
    await bed.close();
  }
};
