// Test and bench harness for the relayer: anvil, a fresh database, the contracts, a keystore
// with the treasury hot wallet funded (on chain and in the ledger), a relayer topped up by a
// real refill pass, the API on a free port, and the monitor running as the workers run it.
// Not used by product code.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, type Address, type PublicClient } from 'viem';
import { startApiServer } from '../api/index.ts';
import { deployContracts, type DeployedContracts } from '../contracts/index.ts';
import { startAnvil, type Anvil } from '../devnets/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { Keystore } from '../signer/index.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { relayAllQueued, type ForwarderContext } from '../relayer/forwarder.ts';
import { monitorPass } from '../relayer/monitor.ts';
import { FeeOracle } from '../relayer/pricing.ts';
import { recordTreasuryFunding, refillPass, type RefillContext } from '../relayer/refills.ts';
import { createRelayer, OperationalKeys, type Relayer } from '../relayer/relayers.ts';
import type { RelayContext } from '../relayer/transactions.ts';

export const ether = 10n ** 18n;

export interface RelayBed {
  anvil: Anvil;
  db: TestDatabase;
  contracts: DeployedContracts;
  client: PublicClient;
  keystore: Keystore;
  ctx: RelayContext;
  forwarder: ForwarderContext;
  refills: RefillContext;
  relayer: Relayer;
  apiKey: string;
  apiSecret: string;
  /** http://127.0.0.1:<port> */
  url: string;
  treasury: Address;
  /** Pauses or resumes the background monitor (tests that drive passes themselves). */
  monitor: { paused: boolean };
  close(): Promise<void>;
}

/** `database`: one the caller owns (the bench's); by default a fresh test database, dropped on close. */
export async function createRelayBed(options: { accessTtlSeconds?: number; confirmations?: number; treasuryEth?: bigint; relayerFundTo?: bigint; database?: TestDatabase } = {}): Promise<RelayBed> {
  const anvil = await startAnvil();
  const db = options.database ?? (await createTestDatabase());
  const dir = await mkdtemp(join(tmpdir(), 'coffer-relay-'));
  const contracts = await deployContracts({ rpcUrl: anvil.url, treasury: anvil.accounts[9]! });
  const client = createPublicClient({ transport: http(anvil.url) }) as PublicClient;
  const keystore = new Keystore({ directory: join(dir, 'keys'), passphrase: 'relay-test-passphrase', kdf: { m: 256, t: 1, p: 1 } });
  const keys = new OperationalKeys(keystore);
  const writer = new LedgerWriter({ pool: db.pool });
  const logger = silentLogger;
  const ctx: RelayContext = { pool: db.pool, writer, logger, keys, client, fees: new FeeOracle(client, 200), dedupeWindowSeconds: 600, confirmations: options.confirmations ?? 1 };
  const refills: RefillContext = { pool: db.pool, writer, logger, client, keys, treasuryKeyName: 'treasury-hot', treasuryLowBelow: 1n, confirmTimeoutMs: 10_000 };

  // The treasury hot wallet: a keystore key, funded by an operator (anvil's account 2), booked.
  await keystore.create('treasury-hot', 'secp256k1');
  const treasury = (await keys.get('treasury-hot')).address;
  const funding = await createWalletClient({ account: anvil.accounts[2]!, transport: http(anvil.url) }).sendTransaction({ to: treasury, value: options.treasuryEth ?? 1_000n * ether, chain: null });
  await client.waitForTransactionReceipt({ hash: funding, pollingInterval: 50, timeout: 30_000 });
  await recordTreasuryFunding(refills, funding);

  const created = await createRelayer(db.pool, keystore, {
    chain: 'ethereum',
    name: 'test relayer',
    rpcUrl: anvil.url,
    gasPriceCap: 100_000_000_000n,
    refill: { fundBelow: 1n * ether, fundTo: options.relayerFundTo ?? 100n * ether, dailyCap: 500n * ether },
  });
  await refillPass(refills);

  const forwarder: ForwarderContext = { ...ctx, forwarder: contracts.forwarder, allowedTargets: new Set([contracts.paymentGateway.toLowerCase()]), gasMax: 1_000_000n };
  const { server, port } = await startApiServer(
    {
      pool: db.pool,
      writer,
      logger,
      relay: { ctx, tokens: { accessTtlSeconds: options.accessTtlSeconds ?? 3600, refreshTtlSeconds: 86_400 }, forwarder, refills },
    },
    { port: 0, hostname: '127.0.0.1' },
  );

  const monitor = { paused: false };
  let running = true;
  const loop = (async () => {
    while (running) {
      if (!monitor.paused) {
        await monitorPass(ctx).catch(() => undefined);
        await relayAllQueued(forwarder).catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();

  return {
    anvil,
    db,
    contracts,
    client,
    keystore,
    ctx,
    forwarder,
    refills,
    relayer: created.relayer,
    apiKey: created.apiKey,
    apiSecret: created.apiSecret,
    url: `http://127.0.0.1:${port}`,
    treasury,
    monitor,
    async close() {
      running = false;
      await loop;
      await new Promise<void>((resolve) => (server as Server).close(() => resolve()));
      await writer.close();
      await db.drop();
      await anvil.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
