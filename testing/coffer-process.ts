// `coffer` commands as child processes, started the way the supervisor starts indexers (its node
// flags), so tests can kill them with any signal mid-work and start them again. Output is kept
// (all of stdout, the last 20 kB of stderr) to read or to show in a failed wait. Not used by product code.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { indexerNodeFlags } from '../indexers/supervise.ts';

const cli = fileURLToPath(new URL('../cli/coffer.ts', import.meta.url));
const outputKeptChars = 20_000;

export interface CofferProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface CofferProcesses {
  /** A long-running command (e.g. ['start', '--workers']). */
  start(args: string[], extraEnv?: NodeJS.ProcessEnv): CofferProcess;
  /** A command run to its end. */
  run(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** SIGKILLs whatever is still running (a test's `after`). */
  killAll(): Promise<void>;
}

/** Commands run with `env` (plus each call's extra variables); the ones still running are tracked for `killAll`. */
export function cofferProcesses(env: NodeJS.ProcessEnv): CofferProcesses {
  const running = new Set<CofferProcess>();
  const spawnCli = (args: string[], extraEnv: NodeJS.ProcessEnv) => {
    const child = spawn(process.execPath, [...indexerNodeFlags, cli, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-outputKeptChars)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, exited, out: () => ({ stdout, stderr }) };
  };
  return {
    start(args, extraEnv = {}) {
      const run = spawnCli(args, extraEnv);
      const handle: CofferProcess = {
        child: run.child,
        output: () => run.out().stderr + run.out().stdout,
        exited: run.exited,
        async stop(signal = 'SIGTERM') {
          if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill(signal);
          const code = await run.exited;
          running.delete(handle);
          return code;
        },
      };
      running.add(handle);
      return handle;
    },
    async run(args, extraEnv = {}) {
      const run = spawnCli(args, extraEnv);
      const code = await run.exited;
      return { code, ...run.out() };
    },
    async killAll() {
      for (const process of running) await process.stop('SIGKILL');
    },
  };
}
