import { formatTable, withBenchDatabase, type Bench } from '../../bench/index.ts';
import { ledgerBench } from '../../ledger/ledger.bench.ts';
import { parse, printJson, UsageError } from './index.ts';

const benches: Record<string, Bench> = { ledger: ledgerBench };

export async function bench(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, quick: { type: 'boolean' } });
  const name = positionals[0];
  const run = name ? benches[name] : undefined;
  if (!run) throw new UsageError(`bench takes one of: ${Object.keys(benches).join(', ')}`);
  const result = await withBenchDatabase((pool, url) =>
    run({ pool, url, quick: values.quick ?? false, progress: (line) => process.stderr.write(`[bench ${name}] ${line}\n`) }),
  );
  // maxRSS is in KiB: the peak of the whole process over the whole run.
  result.metrics.process = { peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10 };
  if (values.json) printJson(result);
  else process.stdout.write(formatTable(result));
  return 0;
}
