// One measured indexer run for `coffer bench indexer`, in a process of its own (the processor
// exits its process at the end of the range). Reads its job from the environment, prints one
// JSON line on exit (bench/child-run.ts): blocks seen, milliseconds to the end of the range, peak RSS.
//   BENCH_STORE=noop|ledger  BENCH_TO=<last block>  BENCH_TOKEN=<contract>:<asset>  DATABASE_URL  EVM_RPC_URL
import { ChildRunMeter } from '../../bench/index.ts';
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

const meter = new ChildRunMeter();
// The processor ends its process at the end of the range: report then.
process.on('exit', (code) => meter.report({ code }));

const options = { rpcUrl, finalityDepth: settings.finalityDepth, headPollIntervalMs: 1_000, from: 0, to, eventContracts: settings.eventContracts };
if (store === 'noop') {
  // The no-op store observes exactly what the ledger store observes; only persistence differs.
  const [contract, asset] = (process.env.BENCH_TOKEN ?? ':').split(':');
  const tokens = new Map(contract && asset ? [[contract.toLowerCase(), asset]] : []);
  runProcessor(options, new NoopDatabase({ nativeAsset: 'ETH', tokens, eventContracts: new Set() }, (n) => meter.count(n)));
} else {
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 4, applicationName: 'coffer-bench-indexer' });
  const writer = new LedgerWriter({ pool, logger: silentLogger });
  runProcessor(options, new EvmLedgerDatabase({ pool, writer, settings, rpc: jsonRpc(rpcUrl), logger: silentLogger, rangeEnd: to, onBatch: (stats) => meter.count(stats.blocks) }));
}
