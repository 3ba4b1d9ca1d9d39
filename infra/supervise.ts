// Runs a `coffer` subcommand as a child process and restarts it after a crash, with backoff.
// `coffer start` uses it for the parts that live in their own process (indexers, workers), so
// one crashing part never takes the API down with it. A child that stopped on purpose — the
// caller's `stoppedReason` says so — is not restarted: that needs an operator.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from './logger.ts';

const cli = fileURLToPath(new URL('../cli/coffer.ts', import.meta.url));
const backoffMaxMs = 30_000;

/** SIGTERM, then SIGKILL if the child has not exited after `graceMs`; resolves when it has exited. */
export function stopProcess(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** `deciding`: the child exited and the supervisor is asking whether it stopped on purpose; `held`: it did, and stays down. */
export type SupervisorState = 'running' | 'deciding' | 'restarting' | 'held' | 'stopped';

export interface SupervisedProcess {
  /** The running child's pid, or null between restarts and after a stop. */
  pid(): number | null;
  /** What the supervisor does now; tests await a state rather than sleep through a backoff. */
  state(): SupervisorState;
  /** Restarts so far. */
  restarts(): number;
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  /** For log lines: `indexer evm`, `workers`. */
  name: string;
  /** The `coffer` arguments, e.g. ['indexer', 'run', '--chain', 'evm']. */
  args: string[];
  nodeFlags?: string[];
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Asked after an exit: a reason means "stopped on purpose, do not restart". */
  stoppedReason?: () => Promise<string | null>;
}

export function superviseCoffer(options: SuperviseOptions): SupervisedProcess {
  const { name, logger } = options;
  let child: ChildProcess | null = null;
  let stopping = false;
  let failures = 0;
  let timer: NodeJS.Timeout | null = null;
  let restarts = 0;
  let state: SupervisorState = 'running';

  const launch = () => {
    if (stopping) return;
    state = 'running';
    const startedAt = Date.now();
    child = spawn(process.execPath, [...(options.nodeFlags ?? []), cli, ...options.args], { stdio: ['ignore', 'inherit', 'inherit'], env: options.env ?? process.env });
    logger.info('process started', { process: name, pid: child.pid });
    child.once('exit', (code, signal) => {
      child = null;
      if (stopping) return;
      state = 'deciding';
      void (async () => {
        const reason = (await options.stoppedReason?.().catch(() => null)) ?? null;
        // stop() may have been called while the reason was being read: then no restart, or the
        // new child would outlive its parent.
        if (stopping) return;
        if (reason) {
          state = 'held';
          logger.error('process stopped and will not restart until an operator acts', { process: name, reason });
          return;
        }
        // A run that lasted a while resets the backoff: it was a new failure, not the same one.
        failures = Date.now() - startedAt > 60_000 ? 1 : failures + 1;
        const delay = Math.min(backoffMaxMs, 500 * 2 ** (failures - 1));
        logger.warn('process exited; restarting', { process: name, code, signal, inMs: delay });
        restarts += 1;
        state = 'restarting';
        timer = setTimeout(launch, delay);
      })();
    });
  };
  launch();

  return {
    pid: () => child?.pid ?? null,
    restarts: () => restarts,
    state: () => state,
    stop: async () => {
      stopping = true;
      state = 'stopped';
      if (timer) clearTimeout(timer);
      if (child) await stopProcess(child, 5_000);
    },
  };
}
