// `coffer bench indexer --chain bitcoin`: blocks per second of the Bitcoin indexer (the
// `ChainFollower` writing the ledger) catching up over a bcoin regtest chain with deposits,
// against a bare loop that only fetches and parses the same blocks through the same source
// (no matching, no database), alternating in the same run on the same node. Same JSON shape as
// the EVM indexer bench. Both run in this process; peak RSS is sampled per run.
import { RssSampler, withBenchDatabase, type BenchContext, type BenchResult } from '../../bench/index.ts';
import { addressToScript } from '../../chains/bitcoin/index.ts';
import { startBitcoinDevnet, type BitcoinDevnet } from '../../devnets/index.ts';
import { loadConfig, silentLogger, type Pool } from '../../infra/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { derivation } from '../../testing/evm-world.ts';
import { bitcoinFollower, bitcoinSettings, requireBitcoinRpc } from './run.ts';
import { bitcoinBlockSource } from './source.ts';

const finalityDepth = 6;
const usersCount = 100;
const depositEveryBlocks = 10;
const batchBlocks = 100;

interface RunResult {
  blocks: number;
  ms: number;
  peakRssMb: number;
  blocksPerSec: number;
}

async function prepare(pool: Pool): Promise<string[]> {
  const addresses: string[] = [];
  for (let i = 0; i < usersCount; i += 1) {
    const user = await createUser(pool, { nearAccountId: `bench-${i}.testnet` });
    addresses.push((await getDepositAddress(pool, user.id, 'bitcoin', derivation)).address);
  }
  return addresses;
}

/** Mines `blocks` blocks with a deposit every `depositEveryBlocks`; returns how many deposits. */
async function buildChain(devnet: BitcoinDevnet, addresses: string[], blocks: number, progress: (line: string) => void): Promise<number> {
  let deposits = 0;
  let lastReport = Date.now();
  for (let mined = 0; mined < blocks; mined += depositEveryBlocks) {
    await devnet.send({ script: addressToScript({ address: addresses[deposits % addresses.length]!, network: 'regtest' }), valueSat: BigInt(10_000 + deposits) });
    deposits += 1;
    await devnet.mine(Math.min(depositEveryBlocks, blocks - mined));
    if (Date.now() - lastReport > 5_000) {
      progress(`chain: ${mined + depositEveryBlocks} of ${blocks} blocks`);
      lastReport = Date.now();
    }
  }
  return deposits;
}

export async function bitcoinIndexerBench(context: BenchContext): Promise<BenchResult> {
  const { progress } = context;
  const rangeBlocks = context.quick ? 1_000 : 5_000;
  const rounds = context.quick ? 1 : 3;
  const devnet = await startBitcoinDevnet();
  const sampler = new RssSampler();
  try {
    const start = (await devnet.client.getBlockCount()) + 1;
    const addresses = await prepare(context.pool);
    progress(`building ${rangeBlocks} blocks with a deposit every ${depositEveryBlocks}`);
    const deposits = await buildChain(devnet, addresses, rangeBlocks, progress);
    // Past the range by the finality depth, so the whole range is final.
    await devnet.mine(finalityDepth);
    const through = start + rangeBlocks - 1;
    const env = { ...process.env, BITCOIN_RPC_URL: devnet.rpcUrl, BITCOIN_FINALITY_DEPTH: String(finalityDepth), BITCOIN_START_HEIGHT: String(start) };

    const bare = async (): Promise<RunResult> => {
      const config = loadConfig({ ...env, DATABASE_URL: context.url });
      const source = bitcoinBlockSource({ rpc: requireBitcoinRpc(config), finalityDepth, watched: null });
      sampler.reset();
      const began = performance.now();
      let blocks = 0;
      for (let after = start - 1; after < through; after += batchBlocks) blocks += (await source.blocks(after, Math.min(after + batchBlocks, through))).length;
      const ms = performance.now() - began;
      return { blocks, ms, peakRssMb: sampler.peakMb(), blocksPerSec: Math.round((blocks * 1000) / ms) };
    };
    const indexer = () =>
      withBenchDatabase(async (pool, url) => {
        await prepare(pool);
        const config = loadConfig({ ...env, DATABASE_URL: url });
        const writer = new LedgerWriter({ pool, logger: silentLogger });
        let blocks = 0;
        const follower = bitcoinFollower({ config, pool, writer, logger: silentLogger, onBatch: (batch) => (blocks += batch.blocks) });
        await follower.connect();
        sampler.reset();
        const began = performance.now();
        for (let batch = await follower.step(); batch && batch.finalizedHeight < through; batch = await follower.step());
        const ms = performance.now() - began;
        const peakRssMb = sampler.peakMb();
        await writer.close();
        const { rows } = await pool.query<{ n: string }>("SELECT count(*)::text AS n FROM journal_entries WHERE kind = 'deposit.confirmed'");
        if (Number(rows[0]!.n) !== deposits) throw new Error(`the indexer confirmed ${rows[0]!.n} deposits of ${deposits}`);
        return { blocks, ms, peakRssMb, blocksPerSec: Math.round((blocks * 1000) / ms) };
      });

    const noop: RunResult[] = [];
    const ledger: RunResult[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      noop.push(await bare());
      ledger.push(await indexer());
      progress(`round ${round}/${rounds}: bare fetch+parse ${noop.at(-1)!.blocksPerSec} blocks/s, indexer ${ledger.at(-1)!.blocksPerSec} blocks/s`);
    }
    const median = (runs: RunResult[]) => {
      const sorted = [...runs].sort((a, b) => a.blocksPerSec - b.blocksPerSec);
      return { ...sorted[Math.floor(sorted.length / 2)]!, peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)) };
    };
    const [n, l] = [median(noop), median(ledger)];
    const key = rangeBlocks === 5_000 ? '5k' : `${rangeBlocks / 1000}k`;
    return {
      bench: 'indexer',
      metrics: {
        [`noop_${key}`]: { blocks: n.blocks, blocksPerSec: n.blocksPerSec, peakRssMb: n.peakRssMb },
        [`ledger_${key}`]: { blocks: l.blocks, blocksPerSec: l.blocksPerSec, peakRssMb: l.peakRssMb, deposits },
      },
      ratios: { indexer_vs_noop: Math.round((l.blocksPerSec / n.blocksPerSec) * 1000) / 1000 },
      notes: [
        `bitcoin (bcoin regtest): ${deposits} deposits over ${rangeBlocks} blocks to ${usersCount} users; ${batchBlocks} blocks per batch; medians of ${rounds} alternating runs, the indexer on a fresh database each`,
        `finality: ${bitcoinSettings(loadConfig({ ...env, DATABASE_URL: context.url })).finalityDepth} confirmations; target: indexer_vs_noop >= 0.8`,
      ],
    };
  } finally {
    sampler.stop();
    await devnet.stop();
  }
}
