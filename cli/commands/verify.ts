import { verifyLedger } from '../../ledger/index.ts';
import { parse, printJson, withDatabase } from './index.ts';

export async function verify(args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  // verify reads the hash chain and runs the SQL checks on two connections at once.
  return withDatabase(2, async (pool) => {
    const report = await verifyLedger(pool, {
      onProgress: values.json ? undefined : (done, total) => process.stderr.write(`\rhash chain: ${done}/${total} entries`),
    });
    if (!values.json) process.stderr.write('\n');
    if (values.json) {
      printJson(report);
    } else {
      process.stdout.write(`ledger: ${report.entries} entries, ${report.postings} postings, ${report.seals} seals (${report.durationMs} ms)\n`);
      for (const check of report.checks) {
        process.stdout.write(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name.padEnd(28)} ${check.message}${check.firstBrokenEntryId !== undefined ? ` [first broken entry: ${check.firstBrokenEntryId}]` : ''}\n`);
      }
      process.stdout.write(report.ok ? 'verdict: every invariant holds\n' : 'verdict: VIOLATIONS FOUND\n');
    }
    return report.ok ? 0 : 1;
  });
}
