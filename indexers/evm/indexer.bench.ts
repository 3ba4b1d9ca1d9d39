// `coffer bench indexer`: blocks per second of the EVM indexer catching up over a chain with
// deposits, against the same processor with a store that writes nothing (same observation
// work, no database), both in the same run on the same anvil. Then, unless --quick, the same
// over ten times the blocks, to show peak RSS stays flat as the chain grows. Runs use the
// node flags the supervisor gives indexer processes in production.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createWalletClient, http, type Address } from 'viem';
import { withBenchDatabase, type BenchContext, type BenchResult } from '../../bench/index.ts';
import { deployContracts } from '../../contracts/index.ts';
import { startAnvil, type Anvil } from '../../devnets/index.ts';
import type { Pool } from '../../infra/index.ts';
import { registerAsset } from '../../ledger/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { derivation, setUpTestToken, tokenAsset, tokenTransfer } from '../../testing/evm-world.ts';
import { indexerNodeFlags } from '../supervise.ts';

const child = fileURLToPath(new URL('./bench-child.ts', import.meta.url));
const finalityDepth = 10;
const usersCount = 100;

interface RunResult {
  blocks: number;
  ms: number;
  peakRssMb: number;
  retainedHeapMb: number;
  /** Peak RSS over each 5,000 blocks of the run. */
  rssBySegmentMb: number[];
  blocksPerSec: number;
}

async function measure(store: 'noop' | 'ledger', env: NodeJS.ProcessEnv, to: number): Promise<RunResult> {
  const proc = spawn(process.execPath, [...indexerNodeFlags, '--expose-gc', child], { env: { ...env, BENCH_STORE: store, BENCH_TO: String(to), SQD_LOG: 'error' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const result = JSON.parse(line || '{}') as Partial<RunResult> & { code?: number };
  if (code !== 0 || result.blocks === undefined) throw new Error(`the ${store} indexer run failed (exit ${code}): ${stderr.trim()}`);
  return { blocks: result.blocks, ms: result.ms!, peakRssMb: result.peakRssMb!, retainedHeapMb: result.retainedHeapMb!, rssBySegmentMb: result.rssBySegmentMb ?? [], blocksPerSec: Math.round((result.blocks * 1000) / result.ms!) };
}

/** Grows the chain to `height` with a deposit (ETH and token in turn) every `every` blocks. */
async function buildChain(anvil: Anvil, height: number, every: number, deposit: (i: number) => Promise<unknown>, progress: (line: string) => void): Promise<number> {
  let head = Number(await anvil.rpc<string>('eth_blockNumber'));
  let deposits = 0;
  let lastReport = Date.now();
  while (head < height) {
    await deposit(deposits);
    deposits += 1;
    const gap = Math.min(every - 1, height - head - 1);
    for (let left = gap; left > 0; left -= 100) await anvil.rpc('anvil_mine', [`0x${Math.min(left, 100).toString(16)}`]);
    head = Number(await anvil.rpc<string>('eth_blockNumber'));
    if (Date.now() - lastReport > 5_000) {
      progress(`chain at block ${head} of ${height}`);
      lastReport = Date.now();
    }
  }
  return deposits;
}

/** Users with deposit addresses, and the token registered as an asset (a fresh database each time). */
async function prepare(pool: Pool, token: Address): Promise<Address[]> {
  await registerAsset(pool, { code: tokenAsset, scale: 6, chain: 'ethereum', contract: token.toLowerCase() });
  const addresses: Address[] = [];
  for (let i = 0; i < usersCount; i += 1) {
    const user = await createUser(pool, { nearAccountId: `bench-${i}.testnet` });
    const address = await getDepositAddress(pool, user.id, 'ethereum', derivation);
    addresses.push(address.address as Address);
  }
  return addresses;
}

export async function indexerBench(context: BenchContext): Promise<BenchResult> {
  const { progress } = context;
  const shortChain = 5_000;
  const longChain = 50_000;
  const anvil = await startAnvil();
  try {
    const contracts = await deployContracts({ rpcUrl: anvil.url });
    const funder = anvil.accounts[1]!;
    const wallet = createWalletClient({ account: funder, transport: http(anvil.url) });
    // Mints to the funder and registers the token in the bench's first database.
    await setUpTestToken(context.pool, anvil.url, contracts, funder, 10n ** 18n);
    const addresses = await prepare(context.pool, contracts.testToken);
    const deposit = (i: number) =>
      i % 2 === 0
        ? wallet.sendTransaction({ to: addresses[i % addresses.length]!, value: BigInt(1_000_000 + i), chain: null })
        : wallet.sendTransaction({ to: contracts.testToken, data: tokenTransfer(addresses[i % addresses.length]!, BigInt(1_000 + i)), chain: null });

    progress(`building ${shortChain} blocks with a deposit every 10 blocks`);
    const shortDeposits = await buildChain(anvil, shortChain, 10, deposit, progress);
    // Past the range by the finality depth, so the whole range reads as finalized.
    await anvil.rpc('anvil_mine', [`0x${finalityDepth.toString(16)}`]);
    const env = { ...process.env, EVM_RPC_URL: anvil.url, EVM_FINALITY_DEPTH: String(finalityDepth), BENCH_TOKEN: `${contracts.testToken}:${tokenAsset}` };
    // Runs of a few seconds swing by ±20 % here; alternate the two stores and take medians.
    const compare = async (to: number, expectedDeposits: number, rounds: number) => {
      const noop: RunResult[] = [];
      const ledger: RunResult[] = [];
      for (let round = 1; round <= rounds; round += 1) {
        noop.push(await measure('noop', { ...env, DATABASE_URL: context.url }, to));
        ledger.push(
          await withBenchDatabase(async (pool, url) => {
            await prepare(pool, contracts.testToken);
            const run = await measure('ledger', { ...env, DATABASE_URL: url }, to);
            const { rows } = await pool.query<{ n: bigint }>("SELECT count(*) AS n FROM journal_entries WHERE kind = 'deposit.confirmed'");
            if (Number(rows[0]!.n) !== expectedDeposits) throw new Error(`the ledger store confirmed ${rows[0]!.n} deposits of ${expectedDeposits}`);
            return run;
          }),
        );
        progress(`${to} blocks, round ${round}/${rounds}: no-op ${noop.at(-1)!.blocksPerSec} blocks/s, ledger ${ledger.at(-1)!.blocksPerSec} blocks/s`);
      }
      const pick = (runs: RunResult[]) => {
        const sorted = [...runs].sort((a, b) => a.blocksPerSec - b.blocksPerSec);
        return { ...sorted[Math.floor(sorted.length / 2)]!, peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)), retainedHeapMb: Math.max(...runs.map((r) => r.retainedHeapMb)) };
      };
      return { noop: pick(noop), ledger: pick(ledger) };
    };

    const short = await compare(shortChain, shortDeposits, 3);
    const result: BenchResult = {
      bench: 'indexer',
      metrics: {
        noop_5k: { blocks: short.noop.blocks, blocksPerSec: short.noop.blocksPerSec, peakRssMb: short.noop.peakRssMb, retainedHeapMb: short.noop.retainedHeapMb },
        ledger_5k: { blocks: short.ledger.blocks, blocksPerSec: short.ledger.blocksPerSec, peakRssMb: short.ledger.peakRssMb, retainedHeapMb: short.ledger.retainedHeapMb, deposits: shortDeposits },
      },
      ratios: { indexer_vs_noop: round(short.ledger.blocksPerSec / short.noop.blocksPerSec) },
      notes: [
        `${shortDeposits} deposits over ${shortChain} blocks to ${usersCount} users; medians of 3 alternating runs, each in its own process (ledger on a fresh database); peak RSS is the highest of the runs`,
        'target: indexer_vs_noop >= 0.8; rss_50k_vs_5k near 1 (flat)',
      ],
    };
    if (!context.quick) {
      progress(`growing the chain to ${longChain} blocks (a deposit every 100 blocks)`);
      const longDeposits = shortDeposits + (await buildChain(anvil, longChain, 100, (i) => deposit(shortDeposits + i), progress));
      await anvil.rpc('anvil_mine', [`0x${finalityDepth.toString(16)}`]);
      const long = await compare(longChain, longDeposits, 1);
      result.metrics.noop_50k = { blocks: long.noop.blocks, blocksPerSec: long.noop.blocksPerSec, peakRssMb: long.noop.peakRssMb, retainedHeapMb: long.noop.retainedHeapMb };
      result.metrics.ledger_50k = { blocks: long.ledger.blocks, blocksPerSec: long.ledger.blocksPerSec, peakRssMb: long.ledger.peakRssMb, retainedHeapMb: long.ledger.retainedHeapMb, deposits: longDeposits };
      result.ratios.indexer_vs_noop_50k = round(long.ledger.blocksPerSec / long.noop.blocksPerSec);
      result.ratios.rss_50k_vs_5k = round(long.ledger.peakRssMb / short.ledger.peakRssMb);
      result.ratios.noop_rss_50k_vs_5k = round(long.noop.peakRssMb / short.noop.peakRssMb);
      result.ratios.retained_heap_50k_vs_5k = round(long.ledger.retainedHeapMb / short.ledger.retainedHeapMb);
      // Within the one 50,000-block run, once warm: peak RSS over blocks 45,000–50,000 against
      // blocks 5,000–10,000. Separate runs of different lengths mostly compare V8 warm-up.
      const segments = long.ledger.rssBySegmentMb.filter((mb) => mb > 0);
      if (segments.length >= 3) {
        result.metrics.ledger_50k_rss_by_5k_blocks = Object.fromEntries(segments.map((mb, i) => [`from${i * 5}k`, mb]));
        result.ratios.rss_at_50k_vs_at_5k_same_run = round(segments.at(-1)! / segments[1]!);
      }
    }
    return result;
  } finally {
    await anvil.stop();
  }
}

const round = (value: number) => Math.round(value * 1000) / 1000;
