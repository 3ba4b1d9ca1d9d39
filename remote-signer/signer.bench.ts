// `coffer bench signer`: the remote signer over HTTP as an op-batcher uses it — Go-shaped
// eth_signTransaction requests, judged by a five-rule policy, signed with a keystore key and
// audited — against health_status over the same connection, authentication and JSON-RPC path
// (the floor every call pays), and against signing the same transactions in process (no HTTP,
// no database). health_status latency is reported too: op's client gives it 3 s at start.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from 'viem';
import { startApiServer } from '../api/index.ts';
import type { Bench } from '../bench/index.ts';
import { signEvmTransactionWithKey, evmOperationalKey } from '../chains/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { Keystore, OperationalKey } from '../signer/index.ts';
import { createKeystoreSignerKey, createSigningClient, KeyMaterial, parseTransactionArgs, setSignerPolicy } from './index.ts';

const inbox = '0xff00000000000000000000000000000000011155';
const chainId = 11_155_111;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const round = (value: number) => Math.round(value * 100) / 100;

export const signerBench: Bench = async ({ pool, quick, progress }) => {
  const requests = quick ? 200 : 1_000;
  const dir = await mkdtemp(join(tmpdir(), 'coffer-bench-signer-'));
  const keystore = new Keystore({ directory: dir, passphrase: 'bench-signer-passphrase', kdf: { m: 256, t: 1, p: 1 } });
  const key = await createKeystoreSignerKey(pool, keystore, 'batcher');
  await setSignerPolicy(pool, {
    key: 'batcher',
    actor: 'bench',
    policy: {
      rules: [
        { type: 'chain_ids', allow: [chainId] },
        { type: 'recipients', allow: [inbox] },
        { type: 'per_tx_cap', asset: 'ETH', max: '0' },
        { type: 'fee_cap', maxFeePerGas: '200000000000' },
        { type: 'velocity', max: 1_000_000, window: { rolling: '1h' } },
      ],
    },
  });
  const { token } = await createSigningClient(pool, { keyNames: ['batcher'] });
  const writer = new LedgerWriter({ pool });
  const started = await startApiServer({ pool, writer, logger: silentLogger, remoteSigner: { ctx: { pool, logger: silentLogger, material: new KeyMaterial({ keystore }) } } }, { port: 0 });
  const url = `http://127.0.0.1:${started.port}/signer`;
  const args = (nonce: number) => ({
    from: key.address, to: inbox, gas: toHex(150_000), gasPrice: null, maxFeePerGas: toHex(30_000_000_000n), maxPriorityFeePerGas: toHex(1_000_000_000n),
    value: '0x0', nonce: toHex(nonce), data: null, input: `0x00${'ab'.repeat(1_000)}`, accessList: [], chainId: toHex(chainId),
  });
  const call = async (method: string, params: unknown[]) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
    const body = (await response.json()) as { result?: unknown; error?: { message: string } };
    if (body.result === undefined) throw new Error(`${method}: ${body.error?.message ?? 'no result'}`);
  };
  /** Sequential calls, as a batcher sends them one at a time: per second, and latencies in ms. */
  const run = async (label: string, one: (index: number) => Promise<void>) => {
    progress(`${label}: ${requests} requests`);
    const latencies: number[] = [];
    const startedAt = performance.now();
    for (let index = 0; index < requests; index += 1) {
      const t = performance.now();
      await one(index);
      latencies.push(performance.now() - t);
    }
    const seconds = (performance.now() - startedAt) / 1000;
    latencies.sort((a, b) => a - b);
    return { perSecond: round(requests / seconds), p50Ms: round(percentile(latencies, 0.5)), p95Ms: round(percentile(latencies, 0.95)), maxMs: round(latencies.at(-1)!) };
  };
  try {
    const health = await run('health_status', () => call('health_status', []));
    const signed = await run('eth_signTransaction', (index) => call('eth_signTransaction', [args(index)]));
    const operational = evmOperationalKey(new OperationalKey(await keystore.load(key.keystoreName!)));
    const direct = await run('in-process signing', (index) => {
      signEvmTransactionWithKey(operational, parseTransactionArgs(args(index)).transaction);
      return Promise.resolve();
    });
    return {
      bench: 'signer',
      metrics: { health_status: health, eth_signTransaction: signed, in_process_sign: direct },
      ratios: { sign_vs_health: round(signed.perSecond / health.perSecond), sign_vs_in_process: round(signed.perSecond / direct.perSecond) },
      notes: [
        `${requests} sequential requests each; a 1,000-byte calldata transaction judged by 5 rules, signed with a keystore key and audited in one transaction`,
        `health_status max ${health.maxMs} ms against the op signer client's 3,000 ms start-up timeout`,
      ],
    };
  } finally {
    await new Promise<void>((resolve) => (started.server as Server).close(() => resolve()));
    await writer.close();
    await rm(dir, { recursive: true, force: true });
  }
};
