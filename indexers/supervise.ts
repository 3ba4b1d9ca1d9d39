// `coffer start --indexers evm` runs each indexer as a child process (the processor exits its
// process when it stops) and restarts it after a crash, with backoff. An indexer that stopped
// on purpose — a reorg deeper than its finality depth — is not restarted: that needs an operator.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger, Pool } from '../infra/index.ts';

const cli = fileURLToPath(new URL('../cli/coffer.ts', import.meta.url));
/**
 * The indexer's old-space cap. What it keeps after a full GC is ~25–30 MB whatever the chain's
 * length (`coffer bench indexer`), but uncapped V8 collects lazily and peak RSS grew 1.6× from
 * 5,000 to 50,000 blocks of catch-up, no-op store and ledger store alike. A cap keeps it flat.
 */
export const indexerNodeFlags = ['--max-old-space-size=192'];
const backoffMaxMs = 30_000;

export interface SupervisedIndexer {
  /** The running child's pid, or null between restarts and after a stop. */
  pid(): number | null;
  /** Restarts so far. */
  restarts(): number;
  stop(): Promise<void>;
}

export function superviseIndexer(options: { indexer: string; pool: Pool; logger: Logger; env?: NodeJS.ProcessEnv }): SupervisedIndexer {
  const { indexer, pool, logger } = options;
  let child: ChildProcess | null = null;
  let stopping = false;
  let failures = 0;
  let timer: NodeJS.Timeout | null = null;
  let restarts = 0;

  const launch = () => {
    const startedAt = Date.now();
    child = spawn(process.execPath, [...indexerNodeFlags, cli, 'indexer', 'run', '--chain', indexer], { stdio: ['ignore', 'inherit', 'inherit'], env: options.env ?? process.env });
    logger.info('indexer started', { indexer, pid: child.pid });
    child.once('exit', (code, signal) => {
      child = null;
      if (stopping) return;
      void (async () => {
        const { rows } = await pool
          .query<{ stopped_reason: string | null }>('SELECT stopped_reason FROM indexer_cursors WHERE indexer = $1', [indexer])
          .catch(() => ({ rows: [] as { stopped_reason: string | null }[] }));
        const reason = rows[0]?.stopped_reason;
        if (reason) {
          logger.error('indexer stopped and will not restart until an operator acts', { indexer, reason });
          return;
        }
        // A run that lasted a while resets the backoff: it was a new failure, not the same one.
        failures = Date.now() - startedAt > 60_000 ? 1 : failures + 1;
        const delay = Math.min(backoffMaxMs, 500 * 2 ** (failures - 1));
        logger.warn('indexer exited; restarting', { indexer, code, signal, inMs: delay });
        restarts += 1;
        timer = setTimeout(launch, delay);
      })();
    });
  };
  launch();

  return {
    pid: () => child?.pid ?? null,
    restarts: () => restarts,
    stop: async () => {
      stopping = true;
      if (timer) clearTimeout(timer);
      const running = child;
      if (!running || running.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => running.kill('SIGKILL'), 5_000);
        running.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        running.kill('SIGTERM');
      });
    },
  };
}
