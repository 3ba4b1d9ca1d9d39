// One measured indexer run for `coffer bench indexer`, in a process of its own (the processor
// exits its process at the end of the range). Reads its job from the environment, prints one
// JSON line on exit: blocks seen, milliseconds from start to the end of the range, peak RSS.
//   BENCH_STORE=noop|ledger  BENCH_TO=<last block>  BENCH_TOKEN=<contract>:<asset>  DATABASE_URL  EVM_RPC_URL
import { createPool, loadConfig, silentLogger } from '../../infra/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { NoopDatabase, runProcessor } from './processor.ts';
import { jsonRpc } from './rpc.ts';
import { EvmLedgerDatabase } from './store.ts';
import { evmSettings, requireRpcUrl } from './run.ts';

const config = loadConfig();
const store = process.env.BENCH_STORE;
const to = Number(process.env.BENCH_TO);
if ((store !== 'noop' && store !== 'ledger') || !Number.isInteger(to)) throw new Error('set BENCH_STORE=noop|ledger and BENCH_TO');
const rpcUrl = requireRpcUrl(config);
const settings = evmSettings(config);

let blocks = 0;
let peakRss = 0;
/** Peak RSS per 5,000 blocks processed: does memory keep growing as the run goes on? */
const segmentBlocks = 5_000;
const segmentPeaks: number[] = [];
const started = performance.now();
const sample = () => {
  const rss = process.memoryUsage().rss;
  peakRss = Math.max(peakRss, rss);
  const segment = Math.floor(blocks / segmentBlocks);
  segmentPeaks[segment] = Math.max(segmentPeaks[segment] ?? 0, rss);
};
const sampler = setInterval(sample, 50);
sampler.unref();
process.on('exit', (code) => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const ms = Math.round(performance.now() - started);
  // With --expose-gc: what the heap still holds after a full collection, i.e. what a leak
  // would grow. Peak RSS also counts garbage V8 had not yet collected.
  (globalThis as { gc?: () => void }).gc?.();
  const retainedHeapMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  const rssBySegmentMb = Array.from(segmentPeaks, (peak) => Math.round((peak ?? 0) / 2 ** 20));
  process.stdout.write(JSON.stringify({ code, blocks, ms, peakRssMb: Math.round(peakRss / 2 ** 20), retainedHeapMb, rssBySegmentMb }) + '\n');
});

const options = { rpcUrl, finalityDepth: settings.finalityDepth, headPollIntervalMs: 1_000, from: 0, to, eventContracts: settings.eventContracts };
if (store === 'noop') {
  // The no-op store observes exactly what the ledger store observes; only persistence differs.
  const [contract, asset] = (process.env.BENCH_TOKEN ?? ':').split(':');
  const tokens = new Map(contract && asset ? [[contract.toLowerCase(), asset]] : []);
  runProcessor(options, new NoopDatabase({ nativeAsset: 'ETH', tokens, eventContracts: new Set() }, (n) => (blocks += n)));
} else {
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 4, applicationName: 'coffer-bench-indexer' });
  const writer = new LedgerWriter({ pool, logger: silentLogger });
  runProcessor(options, new EvmLedgerDatabase({ pool, writer, settings, rpc: jsonRpc(rpcUrl), logger: silentLogger, rangeEnd: to, onBatch: (stats) => (blocks += stats.blocks) }));
}
