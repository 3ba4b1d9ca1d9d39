// `coffer devnet <chain> --json` as a newcomer runs it: a child process whose first line is one
// JSON object naming the chain, its RPC URL and a faucet (Hermes and Alto are services, not chains); the RPC answers its chain's protocol;
// SIGTERM stops it and the port is free again.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { canonicalEntryPoint, deployContracts } from '../contracts/index.ts';
import { freePort, startAnvil } from '../devnets/index.ts';

const entryPoint = fileURLToPath(new URL('./coffer.ts', import.meta.url));
const firstLineTimeoutMs = 60_000;

async function rpc(url: string, method: string, params: unknown = []): Promise<unknown> {
  const parsed = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (parsed.username) headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
  parsed.username = '';
  parsed.password = '';
  const response = await fetch(parsed, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { result?: unknown; error?: unknown };
  assert.equal(body.error ?? null, null, `${method} answered an error`);
  return body.result;
}

/**
 * `extra`: more arguments (--host, --port) and environment, as a compose service passes them;
 * `beforeFirstLine` runs once stderr matches its pattern (a devnet waiting for something).
 */
async function withDevnet(
  chain: string,
  check: (line: Record<string, unknown>) => Promise<void>,
  extra: { args?: string[]; env?: NodeJS.ProcessEnv; beforeFirstLine?: { stderr: RegExp; run: () => Promise<void> } } = {},
): Promise<void> {
  const child = spawn(process.execPath, [entryPoint, 'devnet', chain, '--json', ...(extra.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...extra.env } });
  let stderr = '';
  const waited: { ran?: Promise<void> } = {};
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
    if (!waited.ran && extra.beforeFirstLine?.stderr.test(stderr)) waited.ran = extra.beforeFirstLine.run();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const lines = createInterface({ input: child.stdout });
    const first = await Promise.race([
      new Promise<string>((resolve) => lines.once('line', resolve)),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no first line from coffer devnet ${chain} within ${firstLineTimeoutMs} ms: ${stderr}`)), firstLineTimeoutMs).unref()),
    ]);
    const line = JSON.parse(first) as Record<string, unknown>;
    if (extra.beforeFirstLine) assert.ok(waited.ran, `coffer devnet ${chain} printed its line before ${extra.beforeFirstLine.stderr}: ${stderr}`);
    await waited.ran;
    assert.equal(line.chain, chain);
    assert.match(String(line.rpcUrl), /^http:\/\/([^@]+@)?127\.0\.0\.1:\d+/);
    if (chain !== 'hermes' && chain !== 'alto') assert.ok(line.faucet && typeof line.faucet === 'object', 'a faucet is named');
    await check(line);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, `coffer devnet ${chain} exits 0 on SIGTERM: ${stderr}`);
}

describe('coffer devnet', () => {
  test('ethereum: anvil answers eth_chainId', async () => {
    await withDevnet('ethereum', async (line) => assert.equal(await rpc(String(line.rpcUrl), 'eth_chainId'), '0x7a69'));
  });

  test('bitcoin: bcoin regtest with segwit active and a faucet key', async () => {
    await withDevnet('bitcoin', async (line) => {
      assert.match(String((line.faucet as { wif: string }).wif), /^[1-9A-HJ-NP-Za-km-z]{50,53}$/);
      assert.ok(Number(await rpc(String(line.rpcUrl), 'getblockcount')) >= 432);
    });
  });

  test('solana: the devnet answers getHealth and names its USDC mint', async () => {
    await withDevnet('solana', async (line) => {
      assert.equal(await rpc(String(line.rpcUrl), 'getHealth'), 'ok');
      assert.equal((line.tokens as { USDC: string }).USDC, 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v');
    });
  });

  test('near: the devnet answers status, with its signer contract and token', async () => {
    await withDevnet('near', async (line) => {
      const status = (await rpc(String(line.rpcUrl), 'status', [])) as { chain_id: string };
      assert.equal(typeof status.chain_id, 'string');
      assert.equal(typeof line.signerContract, 'string');
      assert.match(String((line.faucet as { privateKey: string }).privateKey), /^ed25519:/);
    });
  });

  test('hermes on a given host and port (as compose runs it): the replay server answers the price feeds', async () => {
    const port = await freePort();
    await withDevnet(
      'hermes',
      async (line) => {
        assert.equal(line.rpcUrl, `http://127.0.0.1:${port}`, 'a wildcard bind is reached over loopback');
        const feeds = (await (await fetch(`${String(line.rpcUrl)}/v2/price_feeds`)).json()) as unknown[];
        assert.ok(Array.isArray(feeds) && feeds.length > 0);
      },
      { args: ['--host', '0.0.0.0', '--port', String(port)] },
    );
  });

  test('bitcoin serves the credentials of BITCOIN_RPC_URL, so the indexer and the devnet share one secret', async () => {
    const port = await freePort();
    await withDevnet(
      'bitcoin',
      async (line) => {
        assert.equal(line.rpcUrl, `http://compose:s3cret@127.0.0.1:${port}`);
        assert.ok(Number(await rpc(String(line.rpcUrl), 'getblockcount')) >= 432);
      },
      { args: ['--port', String(port)], env: { BITCOIN_RPC_URL: `http://compose:s3cret@bitcoin:${port}` } },
    );
  });

  test('an unknown chain is a usage error with a hint', async () => {
    const child = spawn(process.execPath, [entryPoint, 'devnet', 'dogecoin'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.notEqual(code, 0);
    assert.match(stderr, /unknown chain "dogecoin"/);
  });

  test('alto as compose runs it: the executor key from a file, waiting for the EntryPoint, then bundling for it', async () => {
    const anvil = await startAnvil();
    const dir = await mkdtemp(join(tmpdir(), 'coffer-alto-'));
    try {
      const keyFile = join(dir, 'alto_executor_key');
      const executorKey = generatePrivateKey();
      await writeFile(keyFile, `${executorKey}\n`, { mode: 0o600 });
      const port = await freePort();
      await withDevnet(
        'alto',
        async (line) => {
          assert.equal(line.rpcUrl, `http://127.0.0.1:${port}`);
          assert.equal(line.executor, privateKeyToAccount(executorKey).address);
          assert.deepEqual(await rpc(String(line.rpcUrl), 'eth_supportedEntryPoints'), [canonicalEntryPoint]);
        },
        {
          args: ['--host', '0.0.0.0', '--port', String(port)],
          env: { EVM_RPC_URL: anvil.url, ALTO_EXECUTOR_PRIVATE_KEY_FILE: keyFile },
          // Deployed only once it says it waits: Alto would refuse to start without the EntryPoint.
          beforeFirstLine: { stderr: /waiting for the EntryPoint/, run: async () => void (await deployContracts({ rpcUrl: anvil.url })) },
        },
      );
    } finally {
      await anvil.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
