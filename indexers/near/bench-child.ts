// One measured run of `coffer bench indexer --chain near`, in a process of its own so its peak
// RSS is the indexer's (the NEAR devnet and every block it made stay in the bench's process).
// Reads its job from the environment, prints one JSON line at the end (bench/child-run.ts).
//   BENCH_STORE=bare|ledger  BENCH_TO=<last height>  NEAR_RPC_URL  NEAR_TOKENS  DATABASE_URL
// `bare` fetches the blocks and their new chunks in the follower's batches and decodes every
// receipt as the source does to find candidates (no resolution, no database); `ledger` is the
// `ChainFollower` over the NEAR source writing the ledger, until the range is final.
import { ChildRunMeter } from '../../bench/index.ts';
import { createPool, loadConfig, silentLogger } from '../../infra/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { ftTransferCall, transferYocto } from './decode.ts';
import { nearRpc } from './rpc.ts';
import { createNearFollower, nearSettings, parseNearTokens, requireNearRpcUrl } from './run.ts';
import { fetchBlocks } from './source.ts';

const config = loadConfig();
const store = process.env.BENCH_STORE;
const through = Number(process.env.BENCH_TO);
if ((store !== 'bare' && store !== 'ledger') || !Number.isInteger(through)) throw new Error('set BENCH_STORE=bare|ledger and BENCH_TO');
const settings = nearSettings(config);

const meter = new ChildRunMeter();
if (store === 'bare') {
  const rpc = nearRpc(requireNearRpcUrl(config));
  const tokens = parseNearTokens(config.NEAR_TOKENS);
  let candidates = 0;
  for (let after = settings.startBlock - 1; after < through; after += settings.batchBlocksMax) {
    const fetched = await fetchBlocks(rpc, after, Math.min(through, after + settings.batchBlocksMax));
    for (const { chunks } of fetched) for (const receipt of chunks.flatMap((c) => c.receipts)) if (transferYocto(receipt) > 0n || ftTransferCall(receipt, tokens)) candidates += 1;
    meter.count(fetched.length);
  }
  meter.report({ candidates });
} else {
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 4, applicationName: 'coffer-bench-indexer' });
  const writer = new LedgerWriter({ pool, logger: silentLogger });
  const follower = await createNearFollower({ pool, writer, config, logger: silentLogger, onBatch: (batch) => meter.count(batch.blocks) });
  await follower.connect();
  for (let batch = await follower.step(); batch && batch.finalizedHeight < through; batch = await follower.step());
  await writer.close();
  await pool.end();
  meter.report();
}
