// `coffer bench indexer --chain bitcoin`: blocks per second of the Bitcoin indexer (the
// `ChainFollower` writing the ledger) catching up over a bcoin regtest chain with deposits,
// against a bare loop that only fetches and parses the same blocks through the same source
// (no matching, no database), alternating in the same run on the same node. Same JSON shape as
// the EVM indexer bench. Each run is a process of its own (`bench-child.ts`, with the node flags
// the supervisor gives indexer processes), so its peak RSS is its own. Then, unless --quick, the
// same over ten times the blocks, to show peak RSS stays flat as the chain grows.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withBenchDatabase, type BenchContext, type BenchResult } from '../../bench/index.ts';
import { addressToScript } from '../../chains/bitcoin/index.ts';
import { startBitcoinDevnet, type BitcoinDevnet } from '../../devnets/index.ts';
import type { Pool } from '../../infra/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { derivation } from '../../testing/evm-world.ts';
import { indexerNodeFlags } from '../supervise.ts';

const child = fileURLToPath(new URL('./bench-child.ts', import.meta.url));
const finalityDepth = 6;
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

async function measure(store: 'bare' | 'ledger', env: NodeJS.ProcessEnv, through: number): Promise<RunResult> {
  const proc = spawn(process.execPath, [...indexerNodeFlags, '--expose-gc', child], { env: { ...env, BENCH_STORE: store, BENCH_TO: String(through) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const result = JSON.parse(line || '{}') as Partial<RunResult>;
  if (code !== 0 || result.blocks === undefined) throw new Error(`the ${store} run failed (exit ${code}): ${stderr.trim()}`);
  return { blocks: result.blocks, ms: result.ms!, peakRssMb: result.peakRssMb!, retainedHeapMb: result.retainedHeapMb!, rssBySegmentMb: result.rssBySegmentMb ?? [], blocksPerSec: Math.round((result.blocks * 1000) / result.ms!) };
}

async function prepare(pool: Pool): Promise<string[]> {
  const addresses: string[] = [];
  for (let i = 0; i < usersCount; i += 1) {
    const user = await createUser(pool, { nearAccountId: `bench-${i}.testnet` });
    addresses.push((await getDepositAddress(pool, user.id, 'bitcoin', derivation)).address);
  }
  return addresses;
}

/**
 * Mined faster than one a second, blocks carry timestamps ahead of the clock (each must pass
 * its predecessors' median time), and bcoin refuses a block more than two hours ahead
 * (`time-too-new`) — around block 40,000 here. So the node's clock is moved up to the tip's
 * time (`setmocktime`, regtest only) every `clockSyncBlocks`.
 */
const clockSyncBlocks = 1_000;
async function keepNodeClockWithTip(devnet: BitcoinDevnet): Promise<void> {
  const { time } = await devnet.rpc<{ time: number }>('getblockheader', [await devnet.rpc<string>('getbestblockhash'), true]);
  await devnet.rpc('setmocktime', [Math.max(time, Math.floor(Date.now() / 1000))]);
}

/** Grows the chain to `height` with a deposit in the first of every `every` blocks; returns how many deposits. */
async function buildChain(devnet: BitcoinDevnet, addresses: string[], height: number, every: number, firstDeposit: number, progress: (line: string) => void): Promise<number> {
  let deposits = 0;
  let lastReport = Date.now();
  for (let head = await devnet.client.getBlockCount(); head < height; head = await devnet.client.getBlockCount()) {
    const i = firstDeposit + deposits;
    await devnet.send({ script: addressToScript({ address: addresses[i % addresses.length]!, network: 'regtest' }), valueSat: BigInt(10_000 + i) });
    deposits += 1;
    if (Math.floor(head / clockSyncBlocks) !== Math.floor((head + every) / clockSyncBlocks)) await keepNodeClockWithTip(devnet);
    await devnet.mine(Math.min(every, height - head));
    if (Date.now() - lastReport > 5_000) {
      progress(`chain at block ${head} of ${height}`);
      lastReport = Date.now();
    }
  }
  return deposits;
}

export async function bitcoinIndexerBench(context: BenchContext): Promise<BenchResult> {
  const { progress } = context;
  const shortBlocks = context.quick ? 1_000 : 5_000;
  const longBlocks = 50_000;
  const devnet = await startBitcoinDevnet();
  try {
    const start = (await devnet.client.getBlockCount()) + 1;
    const addresses = await prepare(context.pool);
    const env = { ...process.env, BITCOIN_RPC_URL: devnet.rpcUrl, BITCOIN_FINALITY_DEPTH: String(finalityDepth), BITCOIN_START_HEIGHT: String(start) };
    // Runs of a few seconds swing by ±20 % here; alternate the two and take medians.
    const compare = async (blocks: number, expectedDeposits: number, rounds: number) => {
      const through = start + blocks - 1;
      const bare: RunResult[] = [];
      const ledger: RunResult[] = [];
      for (let round = 1; round <= rounds; round += 1) {
        bare.push(await measure('bare', { ...env, DATABASE_URL: context.url }, through));
        ledger.push(
          await withBenchDatabase(async (pool, url) => {
            await prepare(pool);
            const run = await measure('ledger', { ...env, DATABASE_URL: url }, through);
            const { rows } = await pool.query<{ n: string }>("SELECT count(*)::text AS n FROM journal_entries WHERE kind = 'deposit.confirmed'");
            if (Number(rows[0]!.n) !== expectedDeposits) throw new Error(`the indexer confirmed ${rows[0]!.n} deposits of ${expectedDeposits}`);
            return run;
          }),
        );
        progress(`${blocks} blocks, round ${round}/${rounds}: bare fetch+parse ${bare.at(-1)!.blocksPerSec} blocks/s, indexer ${ledger.at(-1)!.blocksPerSec} blocks/s`);
      }
      const pick = (runs: RunResult[]) => {
        const sorted = [...runs].sort((a, b) => a.blocksPerSec - b.blocksPerSec);
        return { ...sorted[Math.floor(sorted.length / 2)]!, peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)), retainedHeapMb: Math.max(...runs.map((r) => r.retainedHeapMb)) };
      };
      return { bare: pick(bare), ledger: pick(ledger) };
    };
    // Past the range by the finality depth, so the whole range is final.
    const finish = () => devnet.mine(finalityDepth);

    progress(`building ${shortBlocks} blocks with a deposit every 10`);
    const shortDeposits = await buildChain(devnet, addresses, start + shortBlocks - 1, 10, 0, progress);
    await finish();
    const rounds = context.quick ? 1 : 3;
    const short = await compare(shortBlocks, shortDeposits, rounds);
    const key = `${shortBlocks / 1000}k`;
    const result: BenchResult = {
      bench: 'indexer',
      metrics: {
        [`noop_${key}`]: { blocks: short.bare.blocks, blocksPerSec: short.bare.blocksPerSec, peakRssMb: short.bare.peakRssMb, retainedHeapMb: short.bare.retainedHeapMb },
        [`ledger_${key}`]: { blocks: short.ledger.blocks, blocksPerSec: short.ledger.blocksPerSec, peakRssMb: short.ledger.peakRssMb, retainedHeapMb: short.ledger.retainedHeapMb, deposits: shortDeposits },
      },
      ratios: { indexer_vs_noop: round(short.ledger.blocksPerSec / short.bare.blocksPerSec) },
      notes: [
        `bitcoin (bcoin regtest): ${shortDeposits} deposits over ${shortBlocks} blocks to ${usersCount} users; medians of ${rounds} alternating runs, each in its own process (the indexer on a fresh database); peak RSS is the highest of the runs`,
        `finality: ${finalityDepth} confirmations; target: indexer_vs_noop >= 0.8; rss_50k_vs_5k within 20 % of 1`,
      ],
    };
    if (!context.quick) {
      // The chain the short runs read stays as it is (the blocks after it are new); one deposit every 100 blocks from here.
      progress(`growing the chain to ${longBlocks} blocks (a deposit every 100 blocks)`);
      const longDeposits = shortDeposits + (await buildChain(devnet, addresses, start + longBlocks - 1, 100, shortDeposits, progress));
      await finish();
      const long = await compare(longBlocks, longDeposits, 1);
      result.metrics.noop_50k = { blocks: long.bare.blocks, blocksPerSec: long.bare.blocksPerSec, peakRssMb: long.bare.peakRssMb, retainedHeapMb: long.bare.retainedHeapMb };
      result.metrics.ledger_50k = { blocks: long.ledger.blocks, blocksPerSec: long.ledger.blocksPerSec, peakRssMb: long.ledger.peakRssMb, retainedHeapMb: long.ledger.retainedHeapMb, deposits: longDeposits };
      result.ratios.indexer_vs_noop_50k = round(long.ledger.blocksPerSec / long.bare.blocksPerSec);
      result.ratios.rss_50k_vs_5k = round(long.ledger.peakRssMb / short.ledger.peakRssMb);
      result.ratios.noop_rss_50k_vs_5k = round(long.bare.peakRssMb / short.bare.peakRssMb);
      result.ratios.retained_heap_50k_vs_5k = round(long.ledger.retainedHeapMb / short.ledger.retainedHeapMb);
      // Within the one 50,000-block run, once warm: blocks 45,000–50,000 against 5,000–10,000.
      const segments = long.ledger.rssBySegmentMb.filter((mb) => mb > 0);
      if (segments.length >= 3) {
        result.metrics.ledger_50k_rss_by_5k_blocks = Object.fromEntries(segments.map((mb, i) => [`from${i * 5}k`, mb]));
        result.ratios.rss_at_50k_vs_at_5k_same_run = round(segments.at(-1)! / segments[1]!);
      }
    }
    return result;
  } finally {
    await devnet.stop();
  }
}

const round = (value: number) => Math.round(value * 1000) / 1000;
