// One measured run of `coffer bench indexer --chain bitcoin`, in a process of its own so its peak
// RSS is its own (not the bench's, which built the chain). Reads its job from the environment,
// prints one JSON line at the end: blocks seen, milliseconds, peak RSS, heap retained after a
// full collection, and peak RSS per 5,000 blocks.
//   BENCH_STORE=bare|ledger  BENCH_TO=<last height>  BITCOIN_START_HEIGHT  BITCOIN_RPC_URL  DATABASE_URL
// `bare` only fetches and parses the blocks through the indexer's block source (no matching, no
// database); `ledger` is the `ChainFollower` writing the ledger, until the range is final.
import { ChildRunMeter } from '../../bench/index.ts';
import { createPool, loadConfig, silentLogger } from '../../infra/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { bitcoinFollower, bitcoinSettings, requireBitcoinRpc } from './run.ts';
import { bitcoinBlockSource } from './source.ts';

const config = loadConfig();
const store = process.env.BENCH_STORE;
const through = Number(process.env.BENCH_TO);
if ((store !== 'bare' && store !== 'ledger') || !Number.isInteger(through)) throw new Error('set BENCH_STORE=bare|ledger and BENCH_TO');
const settings = bitcoinSettings(config);
/** The follower's batch size, so both runs ask the node for the same ranges. */
const batchBlocks = settings.batchBlocksMax;

const meter = new ChildRunMeter();
if (store === 'bare') {
  const source = bitcoinBlockSource({ rpc: requireBitcoinRpc(config), finalityDepth: settings.finalityDepth, watched: null });
  for (let after = settings.startBlock - 1; after < through; after += batchBlocks) meter.count((await source.blocks(after, Math.min(after + batchBlocks, through))).length);
} else {
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 4, applicationName: 'coffer-bench-indexer' });
  const writer = new LedgerWriter({ pool, logger: silentLogger });
  const follower = bitcoinFollower({ config, pool, writer, logger: silentLogger, onBatch: (batch) => meter.count(batch.blocks) });
  await follower.connect();
  for (let batch = await follower.step(); batch && batch.finalizedHeight < through; batch = await follower.step());
  await writer.close();
  await pool.end();
}
meter.report();
