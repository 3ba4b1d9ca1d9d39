// `coffer bench indexer --chain bitcoin`: blocks per second of the Bitcoin indexer (the
// `ChainFollower` writing the ledger) catching up over a bcoin regtest chain with deposits,
// against a bare loop that only fetches and parses the same blocks through the same source
// (no matching, no database), alternating in the same run on the same node. Same JSON shape as
// the EVM indexer bench. Each run is a process of its own (`bench-child.ts`, with the node flags
// the supervisor gives indexer processes), so its peak RSS is its own. Then, unless --quick, the
// same over ten times the blocks, to show peak RSS stays flat as the chain grows.
import { fileURLToPath } from 'node:url';
import { compareRuns, indexerBenchResult, indexerRunOnFreshDatabase, runBenchChild, type BenchContext, type BenchResult, type ChildRun } from '../../bench/index.ts';
import { addressToScript } from '../../chains/bitcoin/index.ts';
import { startBitcoinDevnet, type BitcoinDevnet } from '../../devnets/index.ts';
import type { Pool } from '../../infra/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { derivation } from '../../testing/evm-world.ts';
import { indexerNodeFlags } from '../supervise.ts';

const child = fileURLToPath(new URL('./bench-child.ts', import.meta.url));
const finalityDepth = 6;
const usersCount = 100;

function measure(store: 'bare' | 'ledger', env: NodeJS.ProcessEnv, through: number): Promise<ChildRun> {
  return runBenchChild(child, { label: store, nodeFlags: indexerNodeFlags, env: { ...env, BENCH_STORE: store, BENCH_TO: String(through) } });
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
    const compare = async (blocks: number, deposits: number, rounds: number) => {
      const through = start + blocks - 1;
      const runs = await compareRuns(
        rounds,
        {
          baseline: () => measure('bare', { ...env, DATABASE_URL: context.url }, through),
          indexer: () => indexerRunOnFreshDatabase(prepare, (url) => measure('ledger', { ...env, DATABASE_URL: url }, through), deposits),
        },
        (round, pair) => progress(`${blocks} blocks, round ${round}/${rounds}: bare fetch+parse ${pair.baseline.blocksPerSec} blocks/s, indexer ${pair.indexer.blocksPerSec} blocks/s`),
      );
      return { ...runs, blocks, deposits };
    };
    // Past the range by the finality depth, so the whole range is final.
    const finish = () => devnet.mine(finalityDepth);

    progress(`building ${shortBlocks} blocks with a deposit every 10`);
    const shortDeposits = await buildChain(devnet, addresses, start + shortBlocks - 1, 10, 0, progress);
    await finish();
    const rounds = context.quick ? 1 : 3;
    const short = await compare(shortBlocks, shortDeposits, rounds);
    const notes = [
      `bitcoin (bcoin regtest): ${shortDeposits} deposits over ${shortBlocks} blocks to ${usersCount} users; medians of ${rounds} alternating runs, each in its own process (the indexer on a fresh database); peak RSS is the highest of the runs`,
      `finality: ${finalityDepth} confirmations; target: indexer_vs_noop >= 0.8; rss_50k_vs_5k within 20 % of 1`,
    ];
    if (context.quick) return indexerBenchResult({ bench: 'indexer', baseline: 'noop', short, notes });
    // The chain the short runs read stays as it is (the blocks after it are new); one deposit every 100 blocks from here.
    progress(`growing the chain to ${longBlocks} blocks (a deposit every 100 blocks)`);
    const longDeposits = shortDeposits + (await buildChain(devnet, addresses, start + longBlocks - 1, 100, shortDeposits, progress));
    await finish();
    return indexerBenchResult({ bench: 'indexer', baseline: 'noop', short, long: await compare(longBlocks, longDeposits, 1), notes });
  } finally {
    await devnet.stop();
  }
}
