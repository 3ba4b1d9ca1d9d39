// Pimlico's Alto ERC-4337 bundler (GPL-3.0, a devDependency: started as a separate process for
// tests and devnets, never imported by product code) against a local chain, on a free port.
// Safe mode is off: its tracer-based validation fails against anvil (research §A5), as Alto's
// own end-to-end setup runs it. Alto deploys its simulation contracts through the CREATE2
// deployer and recognises EntryPoint v0.8 only at its canonical address.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { stopProcess } from '../infra/index.ts';
import { freePort, localUrl, type DevnetListen } from './ports.ts';

const require = createRequire(import.meta.url);
const startTimeoutMs = 60_000;

export interface Alto {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function anvilRpc(url: string, method: string, params: unknown[]): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = (await response.json()) as { error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
}

/**
 * Against anvil only (the utility account is funded with anvil_setBalance).
 * `executorPrivateKey` is the bundler's EOA (it pays the bundles' gas, which the EntryPoint
 * pays back from the paymaster's deposit); fund it (as a refill target) before sending.
 */
export async function startAlto(options: { rpcUrl: string; entryPoint: string; executorPrivateKey: `0x${string}`; listen?: DevnetListen }): Promise<Alto> {
  // The package exports only its library entry (esm/index.js); its CLI sits beside it.
  let bin: string;
  try {
    bin = join(dirname(require.resolve('@pimlico/alto')), 'cli', 'alto.js');
  } catch {
    throw new Error('Alto (@pimlico/alto) is a devDependency, not in the production image: run it from the dev-tools image (the Dockerfile\'s devtools target, as compose\'s alto service does)');
  }
  // Alto always binds every interface; a fixed port is how other containers reach it.
  const port = options.listen?.port ?? (await freePort());
  // Alto's utility account deploys its simulation contracts: a fresh key, funded by anvil itself.
  const utilityKey = generatePrivateKey();
  await anvilRpc(options.rpcUrl, 'anvil_setBalance', [privateKeyToAccount(utilityKey).address, '0x8ac7230489e80000']);
  const args = [
    bin,
    '--entrypoints', options.entryPoint,
    '--executor-private-keys', options.executorPrivateKey,
    '--utility-private-key', utilityKey,
    '--rpc-url', options.rpcUrl,
    '--safe-mode', 'false',
    '--refilling-wallets', 'false',
    '--utility-wallet-monitor', 'false',
    '--port', String(port),
    '--log-level', 'warn',
  ];
  // The executor key goes in argv, not the environment we pass on: it is a devnet key made for this run.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = localUrl(options.listen?.host ?? '127.0.0.1', port);
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`alto exited (${child.exitCode}): ${output.trim().slice(-1_500) || 'no output'}`);
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_supportedEntryPoints', params: [] }) });
      const body = (await response.json()) as { result?: string[] };
      if (body.result?.some((address) => address.toLowerCase() === options.entryPoint.toLowerCase())) return { url, port, stop: () => stopProcess(child) };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`alto did not answer on port ${port} within ${startTimeoutMs} ms: ${output.trim().slice(-1_500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
