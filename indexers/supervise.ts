// `coffer start --indexers evm` runs each indexer as a child process (the processor exits its
// process when it stops) and restarts it after a crash, with backoff. An indexer that stopped
// on purpose — a reorg deeper than its finality depth — is not restarted: that needs an operator.
import { runFirst, sqlBuilder, superviseCoffer, type Logger, type Pool, type SupervisedProcess } from '../infra/index.ts';

/**
 * The indexer's old-space cap. What it keeps after a full GC is ~25–30 MB whatever the chain's
 * length (`coffer bench indexer`), but uncapped V8 collects lazily and peak RSS grew 1.6× from
 * 5,000 to 50,000 blocks of catch-up, no-op store and ledger store alike. A cap keeps it flat.
 */
export const indexerNodeFlags = ['--max-old-space-size=192'];

export type SupervisedIndexer = SupervisedProcess;

export function superviseIndexer(options: { indexer: string; pool: Pool; logger: Logger; env?: NodeJS.ProcessEnv }): SupervisedIndexer {
  const { indexer, pool } = options;
  return superviseCoffer({
    name: `indexer ${indexer}`,
    args: ['indexer', 'run', '--chain', indexer],
    nodeFlags: indexerNodeFlags,
    logger: options.logger,
    ...(options.env ? { env: options.env } : {}),
    stoppedReason: async () => {
      const cursor = await runFirst(pool, sqlBuilder.selectFrom('indexer_cursors').select('stopped_reason').where('indexer', '=', indexer));
      return cursor?.stopped_reason ?? null;
    },
  });
}
