// The whole deposit pipeline with real components: anvil, PostgreSQL, Redis, the local Hermes
// replay server, the indexer and the workers each in their own `coffer` process (as
// `npm start` runs them). Deposit addresses derive from the signing emulator's roots, so the
// workers can sign sweeps for them. It runs twice: BullMQ on one Redis server (REDIS_URL) and on
// a 3-master Redis Cluster (REDIS_CLUSTER_NODES), each with its own workers process; the
// disruption in the last test is the backend's own: a flushed server, a killed cluster node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createPublicClient, erc20Abi, http, type Address } from 'viem';
import { startHermesReplay, type HermesReplay } from '../devnets/index.ts';
import { createEvmWorld, eventually, whileMining as mining, type EvmWorld, type IndexerProcess } from '../testing/evm-world.ts';
import { startRedisCluster } from '../testing/redis-cluster.ts';
import { getBalances, getTrialBalance } from '../ledger/index.ts';
import { ChainSignaturesEmulator, Keystore } from '../signer/index.ts';

const passphrase = 'pipeline-test-passphrase';
const confirmations = 3;
let world: EvmWorld;
let hermes: HermesReplay;
let keystoreDir: string;
let treasury: Address;
let indexer: IndexerProcess;
let env: NodeJS.ProcessEnv;

/** A Redis database index nobody else uses, so FLUSHDB here touches nothing but this test. */
async function freeRedisDatabase(): Promise<number> {
  const probe = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
  await probe.connect();
  try {
    for (const db of [9, 10, 11, 12, 13, 14, 15, 8, 7]) {
      await probe.select(db);
      // Claim it atomically; a leftover claim older than an hour is from a crashed run.
      if ((await probe.set('coffer-test-claim', String(process.pid), 'EX', 3600, 'NX')) === 'OK' && (await probe.dbsize()) === 1) return db;
    }
    throw new Error('no free Redis database index for the pipeline test');
  } finally {
    probe.disconnect();
  }
}

/** Where BullMQ runs in one pass of the suite, and what "Redis lost its jobs" means there. */
interface RedisBackend {
  /** The workers' Redis settings. */
  env: NodeJS.ProcessEnv;
  /** Loses what Redis holds mid-pipeline; `restartWorkers` SIGKILLs the workers and starts them again. */
  disrupt(restartWorkers: () => Promise<void>): Promise<void>;
  output(): string;
  close(): Promise<void>;
}

const backends: { name: string; disruption: string; suffix: string; open(): Promise<RedisBackend> }[] = [
  {
    name: 'one Redis server',
    disruption: 'Redis flushed and the worker killed mid-pipeline',
    suffix: '',
    async open() {
      const redisUrl = `redis://127.0.0.1:6379/${await freeRedisDatabase()}`;
      const redis = new Redis(redisUrl);
      return {
        env: { REDIS_URL: redisUrl },
        async disrupt(restartWorkers) {
          await redis.flushdb();
          await restartWorkers();
        },
        output: () => '',
        async close() {
          await redis.flushdb();
          redis.disconnect();
        },
      };
    },
  },
  {
    name: 'a 3-master Redis Cluster',
    disruption: 'the cluster node holding the sweeps queue SIGKILLed and restarted empty mid-pipeline',
    suffix: 'c',
    async open() {
      const cluster = await startRedisCluster();
      return {
        env: { REDIS_CLUSTER_NODES: cluster.nodesText },
        async disrupt() {
          // The workers keep running: their connections to the node fail, then find it again.
          const node = await cluster.nodeOf('{coffer:bull:sweeps}');
          assert.ok((await cluster.keysOn(node, '{coffer:bull:sweeps}:sweeps:outbox-*')).length > 0, 'the sweeps queue and its jobs live on the node about to die');
          // The workers recreate queue bookkeeping and the dispatcher re-offers jobs at once, so a
          // marker of the test's own shows that the node came back with nothing it held.
          const marker = '{coffer:bull:sweeps}:pipeline-test-marker';
          await cluster.set(marker, 'before the kill');
          await cluster.kill(node);
          await cluster.restart(node);
          assert.deepEqual(await cluster.keysOn(node, marker), [], 'the node came back empty');
        },
        output: () => cluster.output(),
        close: () => cluster.stop(),
      };
    },
  },
];

before(async () => {
  keystoreDir = await mkdtemp(join(tmpdir(), 'coffer-pipeline-'));
  const emulator = await ChainSignaturesEmulator.open(new Keystore({ directory: keystoreDir, passphrase, kdf: { m: 256, t: 1, p: 1 } }));
  world = await createEvmWorld({
    finalityDepth: 2,
    derivation: { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') } },
  });
  hermes = await startHermesReplay();
  treasury = world.anvil.accounts[8]!;
  env = {
    HERMES_URL: hermes.url,
    EVM_TREASURY_ADDRESS: treasury,
    SWEEP_CONFIRMATIONS: String(confirmations),
    CREDIT_ASSET_PRICING: 'TUSDC=usd:1',
    JOB_BACKOFF_MS: '200',
    JOB_LOCK_MS: '3000',
    OUTBOX_POLL_INTERVAL_MS: '200',
    OUTBOX_REOFFER_AFTER_MS: '2000',
    COFFER_KEYSTORE_DIR: keystoreDir,
    COFFER_KEYSTORE_PASSPHRASE: passphrase,
    LOG_LEVEL: 'warn',
  };
  // The indexer writes the outbox in PostgreSQL only; one serves both passes.
  indexer = world.startIndexer(env);
});

after(async () => {
  await hermes?.stop();
  await world?.close();
  if (keystoreDir) await rm(keystoreDir, { recursive: true, force: true });
});

const chain = () => createPublicClient({ transport: http(world.anvil.url) });

/** Waits for `check`, mining a block now and then so confirmations keep coming. */
const miningFor = <T>(what: string, check: () => Promise<T | undefined | false>, context: () => string, timeoutMs = 60_000) =>
  mining(world, what, check, () => `indexer:\n${indexer.output().slice(-3_000)}\n${context()}`, timeoutMs);

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await world.db.pool.query<{ n: bigint }>(sql, params);
  return Number(rows[0]!.n);
}

async function ledgerBalance(account: string, asset: string): Promise<bigint> {
  return (await getBalances(world.db.pool, { account, asset }))[0]?.balance ?? 0n;
}

for (const backend of backends) {
  describe(`the deposit pipeline on ${backend.name}: indexer → outbox → BullMQ workers → credit → sweep`, () => {
    let redis: RedisBackend;
    let workers: IndexerProcess;
    const workersEnv = () => ({ ...env, ...redis.env });
    const context = () => `workers:\n${workers.output().slice(-5_000)}\nredis:\n${redis.output().slice(-2_000)}`;
    const whileMining = <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs?: number) => miningFor(what, check, context, timeoutMs);
    /** Depositors are new users in each pass: NEAR account ids are unique. */
    const depositor = (name: string, options?: { isSweepEnabled?: boolean }) => world.newDepositor(`${name}${backend.suffix}`, options);

    before(async () => {
      redis = await backend.open();
      workers = world.startCoffer(['start', '--workers'], workersEnv());
    });

    after(async () => {
      // This pass's dispatcher must not take the next pass's outbox rows. SIGKILL: a graceful stop
      // waits for jobs that wait for confirmations nobody mines any more.
      await workers?.stop('SIGKILL');
      await redis?.close();
    });

    test('ETH and token deposits are confirmed, priced, credited and swept; the ledger matches the chain', async () => {
      const ada = await depositor('ada');
      const token = world.contracts.testToken;
      // The treasury and fee accounts are shared by both passes: what this deposit moved is the difference.
      const start = {
        chainEth: await chain().getBalance({ address: treasury }),
        chainToken: await chain().readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [treasury] }),
        ledgerEth: await ledgerBalance('treasury:ethereum', 'ETH'),
        ledgerToken: await ledgerBalance('treasury:ethereum', 'TUSDC'),
        fees: await ledgerBalance('fees:ethereum', 'ETH'),
      };
      await world.sendEth(ada.address, 5n * 10n ** 17n); // 0.5 ETH
      await world.sendToken(ada.address, 50_000_000n); // 50 TUSDC
      await world.mine(3);

      await whileMining('both sweeps confirmed', async () => (await count("SELECT count(*) AS n FROM sweeps WHERE user_id = $1 AND status = 'confirmed'", [ada.userId])) === 2);

      // Credited once each: the ETH at the replayed Pyth price, the token at its fixed $1.
      const { rows: credits } = await world.db.pool.query<{ asset: string; choco: string; price_observation_id: bigint | null }>(
        "SELECT asset, choco::text, price_observation_id FROM credit_decisions WHERE user_id = $1 AND status = 'credited' ORDER BY asset",
        [ada.userId],
      );
      assert.deepEqual(credits.map((c) => c.asset), ['ETH', 'TUSDC']);
      assert.ok(credits[0]!.price_observation_id !== null, 'the ETH credit names its price');
      assert.equal(BigInt(credits[1]!.choco), 5_000n * 10n ** 18n); // $50 × 100 CHOCO/USD
      assert.equal(await ledgerBalance(`users:${ada.userId}:choco`, 'CHOCO'), BigInt(credits[0]!.choco) + BigInt(credits[1]!.choco));
      assert.ok(hermes.requests.atTimestamp >= 1, 'the price was asked of Hermes for the deposit time');

      // The chain and the ledger agree: the treasury got what the ledger says, the deposit
      // address holds what its custody account says (the gas left over), fees are booked.
      const { rows: sweeps } = await world.db.pool.query<{ asset: string; amount: string; fee: string }>(
        'SELECT asset, amount::text, fee::text FROM sweeps WHERE user_id = $1 ORDER BY asset',
        [ada.userId],
      );
      const [ethSweep, tokenSweep] = sweeps;
      assert.equal(BigInt(tokenSweep!.amount), 50_000_000n);
      assert.equal((await chain().readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [treasury] })) - start.chainToken, 50_000_000n);
      assert.equal((await ledgerBalance('treasury:ethereum', 'TUSDC')) - start.ledgerToken, 50_000_000n);
      assert.equal((await chain().getBalance({ address: treasury })) - start.chainEth, BigInt(ethSweep!.amount));
      assert.equal((await ledgerBalance('treasury:ethereum', 'ETH')) - start.ledgerEth, BigInt(ethSweep!.amount));
      assert.equal(await ledgerBalance(`custody:ethereum:${ada.address}`, 'ETH'), await chain().getBalance({ address: ada.address }));
      assert.equal(await ledgerBalance(`custody:ethereum:${ada.address}`, 'TUSDC'), 0n);
      assert.equal((await ledgerBalance('fees:ethereum', 'ETH')) - start.fees, BigInt(ethSweep!.fee) + BigInt(tokenSweep!.fee));
      assert.equal(await chain().getTransactionCount({ address: ada.address }), 2, 'two transactions ever signed for the address');

      for (const line of await getTrialBalance(world.db.pool)) assert.equal(line.debits, line.credits, `trial balance of ${line.asset}`);
      const verify = await world.cli(['verify']);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    });

    test('a token deposit to an address without gas is credited, and its sweep waits for a refill it asked for', async () => {
      const bo = await depositor('bo');
      await world.sendToken(bo.address, 20_000_000n);
      await world.mine(3);
      const row = await whileMining('the sweep waits for gas', async () => {
        const { rows } = await world.db.pool.query<{ status: string; reason: string; id: bigint }>('SELECT id, status, reason FROM sweeps WHERE user_id = $1', [bo.userId]);
        return rows[0]?.status === 'waiting_for_gas' ? rows[0] : undefined;
      });
      assert.match(row.reason, /needs \d+ wei of gas, holds 0/);
      assert.equal(await count('SELECT count(*) AS n FROM refill_requests WHERE sweep_id = $1', [row.id.toString()]), 1);
      assert.equal(await count("SELECT count(*) AS n FROM outbox WHERE queue = 'refills'"), 0, 'the request waits for an operator; no job without a worker');
      assert.equal(await ledgerBalance(`custody:ethereum:${bo.address}`, 'TUSDC'), 20_000_000n, 'custody stays until it can move');
    });

    test('a stale price refuses the credit; BullMQ retries it and it is credited once the price is good', async () => {
      const cy = await depositor('cy', { isSweepEnabled: false });
      const observedBefore = await count('SELECT coalesce(max(id), 0) AS n FROM price_observations');
      hermes.misbehave({ staleSeconds: 900 });
      await world.sendEth(cy.address, 10n ** 17n);
      await world.mine(3);
      await whileMining('a refused price', async () => (await count("SELECT count(*) AS n FROM price_observations WHERE refused_reason LIKE 'stale%' AND id > $1", [observedBefore])) > 0);
      assert.equal(await count('SELECT count(*) AS n FROM credit_decisions WHERE user_id = $1', [cy.userId]), 0);
      hermes.misbehave({});
      await whileMining('the credit after the retry', async () => (await count("SELECT count(*) AS n FROM credit_decisions WHERE user_id = $1 AND status = 'credited'", [cy.userId])) === 1);
      const { rows } = await world.db.pool.query<{ refused_reason: string | null }>(
        'SELECT o.refused_reason FROM credit_decisions d JOIN price_observations o ON o.id = d.price_observation_id WHERE d.user_id = $1',
        [cy.userId],
      );
      assert.equal(rows[0]!.refused_reason, null, 'credited at an accepted price only');
      assert.equal(await count('SELECT count(*) AS n FROM sweeps WHERE user_id = $1', [cy.userId]), 0, 'sweeps are off for this user');
    });

    test(`${backend.disruption}: exactly one credit and one sweep per deposit`, async () => {
      const people = await Promise.all(['dot', 'eli', 'flo'].map((name) => depositor(name)));
      for (const person of people) await world.sendEth(person.address, 3n * 10n ** 17n);
      // Enough blocks to confirm the deposits, not enough to confirm sweeps: they stay in flight.
      await world.mine(3);
      const ids = people.map((p) => p.userId);
      await eventually('sweeps in flight', async () => (await count("SELECT count(*) AS n FROM sweeps WHERE user_id = ANY($1) AND status = 'submitted'", [ids])) >= 1, 30_000, context);

      await redis.disrupt(async () => {
        await workers.stop('SIGKILL');
        workers = world.startCoffer(['start', '--workers'], workersEnv());
      });

      await whileMining('every sweep confirmed', async () => (await count("SELECT count(*) AS n FROM sweeps WHERE user_id = ANY($1) AND status = 'confirmed'", [ids])) === 3, 90_000);
      assert.equal(await count("SELECT count(*) AS n FROM journal_entries WHERE kind = 'credit.issued' AND metadata->>'userId' = ANY($1)", [ids]), 3);
      assert.equal(await count("SELECT count(*) AS n FROM journal_entries WHERE kind = 'sweep.confirmed' AND metadata->>'userId' = ANY($1)", [ids]), 3);
      const submitted = await count("SELECT count(*) AS n FROM journal_entries WHERE kind = 'sweep.submitted' AND metadata->>'userId' = ANY($1)", [ids]);
      const failed = await count("SELECT count(*) AS n FROM journal_entries WHERE kind = 'sweep.failed' AND metadata->>'userId' = ANY($1)", [ids]);
      assert.equal(submitted, 3 + failed, 'every extra submission was failed and given back');
      for (const person of people) {
        assert.equal(await chain().getTransactionCount({ address: person.address }), 1, `one sweep transaction from ${person.address}`);
        assert.equal(await ledgerBalance(`custody:ethereum:${person.address}`, 'ETH'), await chain().getBalance({ address: person.address }));
      }
      assert.equal(await count('SELECT count(*) AS n FROM outbox WHERE completed_at IS NULL AND queue <> $1', ['refills']), 0, 'no work left behind');
      for (const line of await getTrialBalance(world.db.pool)) assert.equal(line.debits, line.credits, `trial balance of ${line.asset}`);
    });
  });
}
