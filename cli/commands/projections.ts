import { findProjection, projectionCheckpoints, projections, replayProjection } from '../../ledger/index.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';

export async function projectionsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { swap: { type: 'boolean' }, json: { type: 'boolean' } });
  const [action, name] = positionals;
  return withDatabase(2, async (pool) => {
    if (action === 'list') {
      const checkpoints = await projectionCheckpoints(pool);
      for (const p of projections) {
        const checkpoint = p.synchronous ? 'in the append transaction' : `through entry ${checkpoints.get(p.name) ?? 0n}`;
        process.stdout.write(`${p.name.padEnd(20)} ${checkpoint}\n`);
      }
      return 0;
    }
    if (action !== 'replay') throw new UsageError('projections takes "list" or "replay [name] [--swap]"');
    const selected = name ? [findProjection(name)] : projections;
    if (selected.some((p) => p === undefined)) throw new UsageError(`unknown projection "${name}"; known: ${projections.map((p) => p.name).join(', ')}`);
    let clean = true;
    for (const projection of selected.filter((p) => p !== undefined)) {
      if (values.swap && projection.synchronous && !name) continue;
      const report = await replayProjection(pool, projection, {
        swap: values.swap ?? false,
        onProgress: values.json ? undefined : (done, total) => process.stderr.write(`\r${projection.name}: ${done}/${total} entries`),
      });
      if (!values.json) process.stderr.write('\n');
      const differences = report.diff.onlyLive + report.diff.onlyReplay + report.diff.different;
      clean &&= differences === 0 || report.swapped;
      if (values.json) {
        printJson(report);
        continue;
      }
      process.stdout.write(`${projection.name}: replayed through entry ${report.throughEntryId}: ${differences === 0 ? 'identical to live' : `${report.diff.different} rows differ, ${report.diff.onlyLive} only live, ${report.diff.onlyReplay} only in the replay`}${report.swapped ? '; swapped in' : ''}\n`);
      for (const row of report.diff.sample) {
        process.stdout.write(`  ${row.key}: live ${JSON.stringify(row.live)} replay ${JSON.stringify(row.replay)}\n`);
      }
    }
    return clean ? 0 : 1;
  });
}
