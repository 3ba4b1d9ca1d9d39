// bcoin 1.0.2 regtest for tests and the demo: a real validating full node from npm, as a child
// process on a free loopback port, in memory (research/local-chains.md §3). Product code never
// imports this; it speaks Bitcoin Core's JSON-RPC to whatever URL it is given.
//
// Why the flags:
// - `--listen=false --seeds=,`: no P2P port, and no outbound peer. bcoin's regtest seed list is
//   127.0.0.1:48444 and it keeps retrying a "loader peer" there, which would join whatever other
//   bcoin listens on that port. An empty list leaves the pool idle.
// - `--no-wallet`: coffer never uses bcoin's wallet; it would open a second HTTP port.
// - `--workers=false`: the worker pool spawns processes and only pays off on big blocks.
// - `--index-tx=true`: `getrawtransaction` of a mined transaction, as Core's -txindex.
// - `--prefix` is a fresh path that never exists: bcoin reads `<prefix>/bcoin.conf`, so a
//   developer's ~/.bcoin/bcoin.conf cannot change the devnet. Nothing is written (in memory).
// - The RPC password travels in the environment (BCOIN_API_KEY), not argv, where `ps` shows it.
//   bcoin checks only the password; the user name is random for the URL's shape.
// - Segwit is a BIP9 deployment on bcoin's regtest that becomes active at height 432; below it,
//   witness transactions are refused by the mempool while `sendrawtransaction` still answers a
//   txid. So the start mines 432 blocks to a faucet key and asserts the deployment is active.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  assembleConsolidation,
  broadcastTransaction,
  consolidationDigests,
  createBitcoinRpc,
  encodeWif,
  p2wpkhAddress,
  p2wpkhScript,
  parseBlock,
  planConsolidation,
  type BitcoinRpc,
} from '../chains/index.ts';
import { stopProcess } from '../infra/index.ts';
import { freePort, localUrl, loopback, type DevnetListen } from './ports.ts';

const require = createRequire(import.meta.url);
const startTimeoutMs = 20_000;
const startAttemptsMax = 3;
/** bcoin regtest: BIP9 segwit goes started → locked_in → active over three 144-block windows. */
export const bitcoinSegwitActivationHeight = 432;
export const coinbaseMaturityBlocks = 100;
/** One `generatetoaddress` call at most; bounds a single RPC's duration. */
const mineBatchBlocksMax = 500;
/** The faucet pays 2 sat/vB (bcoin's regtest relay floor is 1). */
const faucetFeeRateSatKvb = 2_000n;

export interface BitcoinDevnet {
  /** `http://user:password@127.0.0.1:<port>`. */
  rpcUrl: string;
  port: number;
  network: 'regtest';
  /** The address format of this node: bcoin's regtest (`rb1…`), not Core's (`bcrt1…`); scripts are the same. */
  addressNetwork: 'bcoin-regtest';
  /** A P2WPKH key holding mature coinbase coins. */
  faucet: { wif: string; address: string; publicKey: Uint8Array; script: Uint8Array };
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  client: BitcoinRpc;
  /** Mines `blocks` blocks to `address` (default: the faucet); returns their hashes. */
  mine(blocks: number, address?: string): Promise<string[]>;
  /**
   * Pays `valueSat` from one mature faucet coinbase to `script` and returns the new outpoint
   * once the node's mempool holds the transaction (not mined; call `mine`).
   */
  send(params: { script: Uint8Array; valueSat: bigint }): Promise<{ txid: string; vout: number }>;
  stop(): Promise<void>;
}

function bcoinNodeScript(): string {
  return join(dirname(require.resolve('bcoin/package.json')), 'bin', 'node');
}

/** The child's environment without inherited BCOIN_* settings, which bcoin would read. */
function childEnvironment(apiKey: string): NodeJS.ProcessEnv {
  const environment = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BCOIN_')));
  return { ...environment, BCOIN_API_KEY: apiKey };
}

function segwitIsActive(info: { bip9_softforks?: { segwit?: { status?: string } }; softforks?: { segwit?: { active?: boolean } } }): boolean {
  return info.bip9_softforks?.segwit?.status === 'active' || info.softforks?.segwit?.active === true;
}

/**
 * `credentials`: the RPC user and password to serve, when another process was configured with
 * them (compose: the indexer's BITCOIN_RPC_URL secret); fresh random ones by default.
 */
export async function startBitcoinDevnet(options: { initialBlocks?: number; listen?: DevnetListen; credentials?: { user: string; password: string } } = {}): Promise<BitcoinDevnet> {
  const initialBlocks = Math.max(options.initialBlocks ?? bitcoinSegwitActivationHeight, bitcoinSegwitActivationHeight);
  const host = options.listen?.host ?? loopback;
  let lastError: unknown;
  for (let attempt = 1; attempt <= startAttemptsMax; attempt += 1) {
    const port = options.listen?.port ?? (await freePort());
    const user = options.credentials?.user ?? randomBytes(6).toString('hex');
    const password = options.credentials?.password ?? randomBytes(18).toString('hex');
    const args = [
      bcoinNodeScript(),
      '--network=regtest',
      '--memory=true',
      `--prefix=${join(tmpdir(), `coffer-bcoin-${randomBytes(6).toString('hex')}`)}`,
      '--listen=false',
      '--seeds=,',
      '--no-wallet',
      '--workers=false',
      '--index-tx=true',
      '--log-level=warning',
      `--http-host=${host}`,
      `--http-port=${port}`,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: childEnvironment(password) });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
    const local = new URL(localUrl(host, port));
    local.username = user;
    local.password = password;
    const rpcUrl = local.toString().replace(/\/$/, '');
    const client = createBitcoinRpc({ url: rpcUrl });
    const deadline = Date.now() + startTimeoutMs;
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`bcoin exited (${child.exitCode}): ${stderr.trim() || 'no output'}`);
        try {
          await client.getBlockCount();
          break;
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`bcoin did not answer on port ${port} within ${startTimeoutMs} ms: ${String(error)}`);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
    } catch (error) {
      // Most likely another process took the port between our check and bcoin's bind: retry.
      lastError = error;
      await stopProcess(child);
      continue;
    }
    try {
      return await prepare({ rpcUrl, port, client, initialBlocks, stop: () => stopProcess(child) });
    } catch (error) {
      await stopProcess(child);
      throw error;
    }
  }
  throw lastError;
}

async function prepare(params: { rpcUrl: string; port: number; client: BitcoinRpc; initialBlocks: number; stop: () => Promise<void> }): Promise<BitcoinDevnet> {
  const { client } = params;
  const privateKey = secp256k1.utils.randomSecretKey();
  const publicKey = secp256k1.getPublicKey(privateKey, true);
  const faucet = {
    wif: encodeWif({ privateKey, network: 'bcoin-regtest' }),
    address: p2wpkhAddress({ publicKey, network: 'bcoin-regtest' }),
    publicKey,
    script: p2wpkhScript(publicKey),
  };
  const faucetScriptHex = Buffer.from(faucet.script).toString('hex');

  async function mine(blocks: number, address = faucet.address): Promise<string[]> {
    if (!Number.isInteger(blocks) || blocks < 1) throw new RangeError('mine at least one block');
    const hashes: string[] = [];
    for (let left = blocks; left > 0; left -= mineBatchBlocksMax) {
      hashes.push(...(await client.call<string[]>('generatetoaddress', [Math.min(left, mineBatchBlocksMax), address])));
    }
    return hashes;
  }

  await mine(params.initialBlocks);
  const info = await client.call<Parameters<typeof segwitIsActive>[0]>('getblockchaininfo');
  if (!segwitIsActive(info)) throw new Error(`segwit is not active on the bcoin devnet after ${params.initialBlocks} blocks`);

  // Coinbases are spent in height order, one per `send`; the cursor moves before any await so
  // concurrent sends never pick the same one.
  let nextCoinbaseHeight = 1;
  async function takeFaucetCoinbase(): Promise<{ txid: string; vout: number; valueSat: bigint }> {
    for (;;) {
      const height = nextCoinbaseHeight;
      nextCoinbaseHeight += 1;
      const tip = await client.getBlockCount();
      // Spendable in the next block when that block is `coinbaseMaturityBlocks` above it.
      if (tip + 1 - height < coinbaseMaturityBlocks) await mine(coinbaseMaturityBlocks - (tip + 1 - height));
      const hash = await client.getBlockHash(height);
      const block = parseBlock({ hex: await client.getRawBlock(hash), height, expectedHash: hash });
      const coinbase = block.transactions[0]!;
      const output = coinbase.outputs.find((candidate) => candidate.scriptHex === faucetScriptHex);
      if (output) return { txid: coinbase.txid, vout: output.vout, valueSat: output.valueSat };
    }
  }

  async function send(payment: { script: Uint8Array; valueSat: bigint }): Promise<{ txid: string; vout: number }> {
    const coinbase = await takeFaucetCoinbase();
    const plan = planConsolidation({ utxos: [{ ...coinbase, publicKey }], sweepToScript: faucet.script, payment, feeRateSatKvb: faucetFeeRateSatKvb });
    const signatures = consolidationDigests(plan).map(({ digest }) => secp256k1.sign(digest, privateKey, { prehash: false, lowS: true }));
    const signed = assembleConsolidation({ plan, signatures });
    await broadcastTransaction({ rpc: client, hex: signed.hex, txid: signed.txid });
    return { txid: signed.txid, vout: 0 };
  }

  return {
    rpcUrl: params.rpcUrl,
    port: params.port,
    network: 'regtest',
    addressNetwork: 'bcoin-regtest',
    faucet,
    rpc: (method, rpcParams) => client.call(method, rpcParams),
    client,
    mine,
    send,
    stop: params.stop,
  };
}

/** The first line `coffer devnet bitcoin --json` prints, the same shape for every chain. */
export function describeBitcoinDevnet(devnet: BitcoinDevnet): { chain: 'bitcoin'; rpcUrl: string; faucet: { wif: string } } {
  return { chain: 'bitcoin', rpcUrl: devnet.rpcUrl, faucet: { wif: devnet.faucet.wif } };
}
