// `coffer` commands as child processes, the way tests and benchmarks run the product: each part
// in its own process (as `coffer start` and docker-compose.yml run them), so a test can kill one,
// run several side by side, and read what each printed. Not used by product code.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { indexerNodeFlags } from '../indexers/supervise.ts';

const cli = fileURLToPath(new URL('../cli/coffer.ts', import.meta.url));
const stderrKeptChars = 20_000;

export interface CofferProcess {
  child: ChildProcess;
  /** What it printed: standard error (its last 20,000 characters), then standard output. */
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `coffer <args>` with exactly `env` (callers spread process.env in when they want it). */
export function spawnCoffer(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; exited: Promise<number | null>; out: () => { stdout: string; stderr: string } } {
  // The indexers' memory cap for every child: a test's processes must not grow past production's.
  const child = spawn(process.execPath, [...indexerNodeFlags, cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-stderrKeptChars)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => ({ stdout, stderr }) };
}

/** A long-running `coffer` child; `onStopped` hears when `stop` has seen it exit. */
export function startCofferProcess(args: string[], env: NodeJS.ProcessEnv, onStopped?: (process: CofferProcess) => void): CofferProcess {
  const run = spawnCoffer(args, env);
  const handle: CofferProcess = {
    child: run.child,
    output: () => run.out().stderr + run.out().stdout,
    exited: run.exited,
    async stop(signal = 'SIGTERM') {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill(signal);
      const code = await run.exited;
      onStopped?.(handle);
      return code;
    },
  };
  return handle;
}

/** A `coffer` command run to its end. */
export async function runCoffer(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = spawnCoffer(args, env);
  const code = await run.exited;
  return { code, ...run.out() };
}
