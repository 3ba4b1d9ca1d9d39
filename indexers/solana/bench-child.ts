// One measured run of `coffer bench indexer --chain solana`, in a process of its own so its peak
// RSS is the indexer's (the LiteSVM devnet and every block it made stay in the bench's process).
// Reads its job from the environment, prints one JSON line at the end (bench/child-run.ts).
//   BENCH_STORE=bare|ledger  BENCH_FROM=<first slot>  BENCH_TO=<last slot>  SOLANA_RPC_URL  DATABASE_URL
// `bare` only fetches and decodes the blocks through the indexer's block source, in the
// follower's batches (no matching, no database); `ledger` is the `ChainFollower` writing the
// ledger, until the range is finalized.
import { ChildRunMeter } from '../../bench/index.ts';
import { createPool, loadConfig, silentLogger } from '../../infra/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { ChainFollower } from '../core/index.ts';
import { solanaRpc } from './rpc.ts';
import { requireSolanaRpcUrl, solanaFollowSettings, solanaTokens } from './run.ts';
import { SolanaBlockSource } from './source.ts';

const config = loadConfig();
const store = process.env.BENCH_STORE;
const from = Number(process.env.BENCH_FROM);
const through = Number(process.env.BENCH_TO);
if ((store !== 'bare' && store !== 'ledger') || !Number.isInteger(from) || !Number.isInteger(through)) throw new Error('set BENCH_STORE=bare|ledger, BENCH_FROM and BENCH_TO');
const settings = solanaFollowSettings(config, from);
const source = new SolanaBlockSource({ rpc: solanaRpc(requireSolanaRpcUrl(config)), tokens: solanaTokens(config) });

const meter = new ChildRunMeter();
if (store === 'bare') {
  for (let after = from - 1; after < through; after += settings.batchBlocksMax) meter.count((await source.blocks(after, Math.min(after + settings.batchBlocksMax, through))).length);
} else {
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 4, applicationName: 'coffer-bench-indexer' });
  const writer = new LedgerWriter({ pool, logger: silentLogger });
  const follower = new ChainFollower({ pool, writer, source, settings, logger: silentLogger, onBatch: (batch) => meter.count(batch.blocks) });
  await follower.connect();
  for (let batch = await follower.step(); batch && batch.finalizedHeight < through; batch = await follower.step());
  await writer.close();
  await pool.end();
}
meter.report();
