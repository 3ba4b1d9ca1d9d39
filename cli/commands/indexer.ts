// `coffer indexer run|rescan|rewind|status --chain <indexer>`, for every indexer in the registry.
import { createLogger, ensureDatabase, loadConfig } from '../../infra/index.ts';
import { findIndexer, indexerNames, listIndexerStatus, type IndexerDefinition } from '../../indexers/index.ts';
import { LedgerWriter } from '../../ledger/index.ts';
import { migrate } from '../../migrations/index.ts';
import { parse, printJson, UsageError, withDatabase } from './index.ts';

function chainOf(value: string | undefined): IndexerDefinition {
  if (value === undefined) throw new UsageError(`--chain is required (one of: ${indexerNames.join(', ')})`);
  const indexer = findIndexer(value);
  if (!indexer) throw new UsageError(`unknown chain "${value}" (indexers: ${indexerNames.join(', ')})`);
  return indexer;
}

function heightOf(name: string, value: string | undefined, min: number): number {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  const height = Number(value);
  if (!Number.isInteger(height) || height < min) throw new UsageError(`--${name} must be a block height (an integer ≥ ${min})`);
  return height;
}

export async function indexerCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values } = parse(rest, { chain: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } });
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, base: { service: 'coffer-indexer' } });
  switch (action) {
    case 'run': {
      const indexer = chainOf(values.chain);
      await ensureDatabase(config.DATABASE_URL);
      await migrate({ connectionString: config.DATABASE_URL });
      await indexer.run(config, logger);
      // The processor owns the process from here and exits it when it stops.
      return new Promise<number>(() => undefined);
    }
    case 'rescan': {
      const indexer = chainOf(values.chain);
      if (!indexer.rescan) throw new UsageError(`the ${indexer.name} indexer has no rescan`);
      await indexer.rescan(config, logger, heightOf('from', values.from, 0));
      return new Promise<number>(() => undefined);
    }
    case 'rewind': {
      const indexer = chainOf(values.chain);
      const to = heightOf('to', values.to, -1);
      return withDatabase(3, async (pool) => {
        const writer = new LedgerWriter({ pool, logger });
        const report = await indexer.rewind({ config, pool, writer, to });
        if (values.json) printJson(report);
        else {
          process.stdout.write(
            `${report.indexer}: rewound from block ${report.from} to ${report.to}; reversed ${report.depositsReversed} deposits ` +
              `(${report.confirmationsReversed} of them confirmed), kept ${report.depositsKept} still on the chain, ` +
              `${report.eventsOrphaned} contract events marked orphaned. Start the indexer again to re-read from block ${report.to + 1}.\n`,
          );
        }
        return 0;
      });
    }
    case 'status': {
      return withDatabase(1, async (pool) => {
        const statuses = await listIndexerStatus(pool);
        if (values.json) printJson(statuses);
        else if (statuses.length === 0) process.stdout.write('no indexer has run yet\n');
        else {
          for (const s of statuses) {
            process.stdout.write(
              `${s.indexer} (${s.chain}): processed ${s.processedHeight}, finalized ${s.finalizedHeight}, head ${s.chainHead ?? '?'}, lag ${s.lag ?? '?'} blocks, ` +
                `${s.openDeposits} deposits awaiting confirmation${s.stoppedReason ? `\n  STOPPED: ${s.stoppedReason}` : ''}\n`,
            );
          }
        }
        return statuses.some((s) => s.stoppedReason) ? 3 : 0;
      });
    }
    default:
      throw new UsageError(action ? `unknown indexer action "${action}"` : 'indexer needs an action: run, rescan, rewind or status');
  }
}
