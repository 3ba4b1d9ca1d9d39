// Test and bench harness for the Bitcoin indexer: a bcoin regtest node, a fresh database, users
// with Bitcoin deposit addresses, and coffer commands as child processes (so tests can kill
// them). Not used by product code.
import { addressToScript } from '../chains/bitcoin/index.ts';
import { startBitcoinDevnet, type BitcoinDevnet } from '../devnets/index.ts';
import { loadConfig, silentLogger, type Config } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { createTestDatabase, type TestDatabase } from './index.ts';
import { createUser, getDepositAddress, type DerivationSettings } from '../users/index.ts';
import type { ChainFollower, FollowBatch } from '../indexers/core/index.ts';
import { derivation as evmDerivation, type IndexerProcess } from './evm-world.ts';
import { runCoffer, startCofferProcess } from './coffer-process.ts';
import { bitcoinFollower } from '../indexers/bitcoin/run.ts';


export interface BitcoinWorld {
  devnet: BitcoinDevnet;
  db: TestDatabase;
  writer: LedgerWriter;
  env: NodeJS.ProcessEnv;
  config: Config;
  newDepositor(name: string): Promise<{ userId: string; address: string }>;
  /** Pays `valueSat` to a deposit address; the transaction is in the mempool, not yet mined. */
  pay(address: string, valueSat: bigint): Promise<{ txid: string; vout: number }>;
  /** An in-process follower, for tests that step it batch by batch. */
  follower(onBatch?: (batch: FollowBatch) => void): ChainFollower;
  /** Steps the follower until it has nothing left to do; returns the batches. */
  catchUp(follower: ChainFollower): Promise<FollowBatch[]>;
  /** Any `coffer` command as a child process. */
  startCoffer(args: string[], extraEnv?: NodeJS.ProcessEnv): IndexerProcess;
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export async function createBitcoinWorld(options: { finalityDepth: number; derivation?: DerivationSettings }): Promise<BitcoinWorld> {
  const devnet = await startBitcoinDevnet();
  const db = await createTestDatabase();
  const writer = new LedgerWriter({ pool: db.pool, logger: silentLogger });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: db.url,
    BITCOIN_RPC_URL: devnet.rpcUrl,
    BITCOIN_NETWORK: 'regtest',
    BITCOIN_FINALITY_DEPTH: String(options.finalityDepth),
    BITCOIN_POLL_INTERVAL_MS: '100',
  };
  const config = loadConfig(env);
  const processes = new Set<IndexerProcess>();
  return {
    devnet,
    db,
    writer,
    env,
    config,
    async newDepositor(name) {
      const user = await createUser(db.pool, { nearAccountId: `${name}.testnet` });
      const address = await getDepositAddress(db.pool, user.id, 'bitcoin', options.derivation ?? evmDerivation);
      return { userId: user.id, address: address.address };
    },
    pay: (address, valueSat) => devnet.send({ script: addressToScript({ address, network: 'regtest' }), valueSat }),
    follower: (onBatch) => bitcoinFollower({ config, pool: db.pool, writer, logger: silentLogger, ...(onBatch ? { onBatch } : {}) }),
    async catchUp(follower) {
      const batches: FollowBatch[] = [];
      for (let batch = await follower.step(); batch; batch = await follower.step()) batches.push(batch);
      return batches;
    },
    startCoffer(args, extraEnv = {}) {
      const handle = startCofferProcess(args, { ...env, ...extraEnv }, (stopped) => processes.delete(stopped));
      processes.add(handle);
      return handle;
    },
    cli: (args) => runCoffer(args, env),
    async close() {
      for (const process of processes) await process.stop('SIGKILL');
      await writer.close();
      await devnet.stop();
      await db.drop();
    },
  };
}
