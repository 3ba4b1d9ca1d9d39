import { formatTable, withBenchDatabase, type Bench, type BenchResult } from '../../bench/index.ts';
import { indexerBench } from '../../indexers/evm/indexer.bench.ts';
import { nearIndexerBench } from '../../indexers/near/indexer.bench.ts';
import { bitcoinIndexerBench } from '../../indexers/bitcoin/indexer.bench.ts';
import { solanaIndexerBench } from '../../indexers/solana/indexer.bench.ts';
import { pipelineBench } from '../../jobs/pipeline.bench.ts';
import { workersBench } from '../../jobs/workers.bench.ts';
import { ledgerBench } from '../../ledger/ledger.bench.ts';
import { deriveBench } from '../../signer/derive.bench.ts';
import { policyBench } from '../../wallets/policy.bench.ts';
import { relayerBench } from '../../relayer/relay.bench.ts';
import { parse, printJson, UsageError } from './index.ts';

const benches: Record<string, Bench> = { ledger: ledgerBench, indexer: indexerBench, pipeline: pipelineBench, workers: workersBench, policy: policyBench, relayer: relayerBench };
/** Benchmarks that need no database. */
const offline: Record<string, (options: { quick: boolean; progress: (line: string) => void }) => BenchResult> = { derive: deriveBench };

export async function bench(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, quick: { type: 'boolean' }, chain: { type: 'string' } });
  const name = positionals[0];
  const progress = (line: string) => process.stderr.write(`[bench ${name}] ${line}\n`);
  const quick = values.quick ?? false;
  const chainIndexerBenches: Record<string, Bench> = { near: nearIndexerBench, bitcoin: bitcoinIndexerBench, solana: solanaIndexerBench };
  const run = name === 'indexer' && values.chain !== undefined ? chainIndexerBenches[values.chain] : name ? benches[name] : undefined;
  const runOffline = name ? offline[name] : undefined;
  if (!run && !runOffline) throw new UsageError(`bench takes one of: ${[...Object.keys(benches), ...Object.keys(offline)].join(', ')}`);
  const result = runOffline ? runOffline({ quick, progress }) : await withBenchDatabase((pool, url) => run!({ pool, url, quick, progress }));
  // maxRSS is in KiB: the peak of the whole process over the whole run.
  result.metrics.process = { peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10 };
  if (values.json) printJson(result);
  else process.stdout.write(formatTable(result));
  return 0;
}
