// anvil (Foundry's EVM devnet) for tests and the demo: the binary shipped inside the npm
// package, on a free loopback port, always `--hardfork cancun` (the default, prague, slows down
// with every block in anvil 1.7.1: research/local-chains.md §1a). Product code never imports
// this; it only speaks JSON-RPC to whatever URL it is given.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { stopProcess } from '../infra/index.ts';
import { freePort, localUrl, loopback, type DevnetListen } from './ports.ts';

const require = createRequire(import.meta.url);
const startTimeoutMs = 15_000;
const startAttemptsMax = 3;

export interface Anvil {
  url: string;
  port: number;
  chainId: number;
  /** anvil's pre-funded, unlocked development accounts. */
  accounts: `0x${string}`[];
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

export function anvilBinary(): string {
  const platform = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[process.platform as string];
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string];
  if (!platform || !arch) throw new Error(`anvil has no build for ${process.platform}/${process.arch}`);
  const packageName = `@foundry-rs/anvil-${platform}-${arch}`;
  let packageJson: string;
  try {
    packageJson = require.resolve(`${packageName}/package.json`);
  } catch {
    // Only the linux-amd64 build is a dependency (the registry here has no other); elsewhere, add yours.
    throw new Error(`anvil for this machine is not installed: npm install --no-save ${packageName}@1.7.1`);
  }
  return join(dirname(packageJson), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
}

async function jsonRpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}


export async function startAnvil(options: { chainId?: number; blockTimeSeconds?: number; listen?: DevnetListen } = {}): Promise<Anvil> {
  let lastError: unknown;
  const host = options.listen?.host ?? loopback;
  for (let attempt = 1; attempt <= startAttemptsMax; attempt += 1) {
    const port = options.listen?.port ?? (await freePort());
    const args = ['--host', host, '--port', String(port), '--silent', '--hardfork', 'cancun', '--chain-id', String(options.chainId ?? 31_337)];
    if (options.blockTimeSeconds) args.push('--block-time', String(options.blockTimeSeconds));
    const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
    const url = localUrl(host, port);
    const deadline = Date.now() + startTimeoutMs;
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`anvil exited (${child.exitCode}): ${stderr.trim() || 'no output'}`);
        try {
          const chainId = Number(await jsonRpc<string>(url, 'eth_chainId'));
          const accounts = await jsonRpc<`0x${string}`[]>(url, 'eth_accounts');
          return {
            url,
            port,
            chainId,
            accounts,
            rpc: (method, params) => jsonRpc(url, method, params),
            stop: () => stopProcess(child),
          };
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`anvil did not answer on port ${port} within ${startTimeoutMs} ms: ${String(error)}`);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
    } catch (error) {
      // Most likely another process took the port between our check and anvil's bind: retry.
      lastError = error;
      await stopProcess(child);
    }
  }
  throw lastError;
}
