// Test and bench harness for the EVM indexer: a real anvil, a fresh database, the contracts
// deployed, a registered test token, and the indexer running as its own process (as in
// production), so tests can kill it. Not used by product code.
import { createWalletClient, http, type Address, type Hex } from 'viem';
import { deployContracts, type DeployedContracts } from '../contracts/index.ts';
import { mintTestToken, startAnvil, testTokenAsset, testTokenScale, testTokenTransfer, type Anvil } from '../devnets/index.ts';
import type { Queryable } from '../infra/index.ts';
import { registerAsset } from '../ledger/index.ts';
import { rootKeys } from '../signer/index.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { createUser, getDepositAddress, type DerivationSettings } from '../users/index.ts';
import { runCoffer, startCofferProcess, type CofferProcess } from './coffer-process.ts';

export const tokenAsset = testTokenAsset;
export const tokenTransfer = testTokenTransfer;

/** Mints test tokens (the deployer owns the token) and registers the token as a ledger asset. */
export async function setUpTestToken(db: Queryable, rpcUrl: string, contracts: DeployedContracts, holder: Address, units: bigint): Promise<void> {
  await registerAsset(db, { code: tokenAsset, scale: testTokenScale, chain: 'ethereum', contract: contracts.testToken.toLowerCase() });
  await mintTestToken(rpcUrl, contracts, holder, units);
}
export const derivation: DerivationSettings = { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: rootKeys.testnet };

export type IndexerProcess = CofferProcess;

export interface EvmWorld {
  anvil: Anvil;
  db: TestDatabase;
  contracts: DeployedContracts;
  funder: Address;
  env: NodeJS.ProcessEnv;
  newDepositor(name: string, options?: { isSweepEnabled?: boolean }): Promise<{ userId: string; address: Address }>;
  sendEth(to: Address, wei: bigint): Promise<Hex>;
  sendToken(to: Address, units: bigint): Promise<Hex>;
  mine(blocks: number): Promise<void>;
  head(): Promise<number>;
  startIndexer(extraEnv?: NodeJS.ProcessEnv): IndexerProcess;
  /** Any `coffer` command as a long-running child (e.g. ['start', '--workers']). */
  startCoffer(args: string[], extraEnv?: NodeJS.ProcessEnv): IndexerProcess;
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

/**
 * `derivation` says which roots deposit addresses derive from: the published testnet MPC roots
 * by default; tests that sign for deposit addresses (sweeps) pass the emulator's.
 */
export async function createEvmWorld(options: { finalityDepth: number; derivation?: DerivationSettings }): Promise<EvmWorld> {
  const anvil = await startAnvil();
  const db = await createTestDatabase();
  const contracts = await deployContracts({ rpcUrl: anvil.url, treasury: anvil.accounts[9]! });
  const funder = anvil.accounts[1]!;
  const wallet = createWalletClient({ account: funder, transport: http(anvil.url) });
  await setUpTestToken(db.pool, anvil.url, contracts, funder, 10n ** 15n);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: db.url,
    EVM_RPC_URL: anvil.url,
    EVM_FINALITY_DEPTH: String(options.finalityDepth),
    EVM_HEAD_POLL_INTERVAL_MS: '100',
    EVM_FORWARDER_ADDRESS: contracts.forwarder,
    EVM_ENTRYPOINT_ADDRESS: contracts.entryPoint,
    SQD_LOG: 'warn',
  };
  const processes = new Set<IndexerProcess>();
  const startCoffer = (args: string[], extraEnv: NodeJS.ProcessEnv): IndexerProcess => {
    const handle = startCofferProcess(args, { ...env, ...extraEnv }, (stopped) => processes.delete(stopped));
    processes.add(handle);
    return handle;
  };
  return {
    anvil,
    db,
    contracts,
    funder,
    env,
    async newDepositor(name, depositorOptions = {}) {
      const user = await createUser(db.pool, { nearAccountId: `${name}.testnet`, ...depositorOptions });
      const address = await getDepositAddress(db.pool, user.id, 'ethereum', options.derivation ?? derivation);
      return { userId: user.id, address: address.address as Address };
    },
    sendEth: (to, wei) => wallet.sendTransaction({ to, value: wei, chain: null }),
    sendToken: (to, units) =>
      wallet.sendTransaction({ to: contracts.testToken, data: tokenTransfer(to, units), chain: null }),
    async mine(blocks) {
      for (let left = blocks; left > 0; left -= 100) await anvil.rpc('anvil_mine', [`0x${Math.min(left, 100).toString(16)}`]);
    },
    head: async () => Number(await anvil.rpc<string>('eth_blockNumber')),
    startIndexer: (extraEnv = {}) => startCoffer(['indexer', 'run', '--chain', 'evm'], extraEnv),
    startCoffer: (args, extraEnv = {}) => startCoffer(args, extraEnv),

    cli: (args) => runCoffer(args, env),
    async close() {
      for (const process of processes) await process.stop('SIGKILL');
      await anvil.stop();
      await db.drop();
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  onTimeout?: () => string,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${onTimeout ? `\n${onTimeout()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `eventually`, mining a block every third poll so confirmations keep coming on an automining anvil. */
export async function whileMining<T>(world: Pick<EvmWorld, 'mine'>, what: string, check: () => Promise<T | undefined | false>, onTimeout: () => string, timeoutMs = 60_000): Promise<T> {
  let polls = 0;
  return eventually(
    what,
    async () => {
      if (++polls % 3 === 0) await world.mine(1);
      return check();
    },
    timeoutMs,
    onTimeout,
    150,
  );
}
