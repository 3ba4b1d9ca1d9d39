// The workers killed with SIGKILL in the middle of a Bitcoin consolidation (issue #19): bcoin
// regtest, two users' deposits indexed and confirmed, `coffer start --workers` as a child
// process credits them and consolidates; the moment the `sweeps` rows read `submitted` (signed
// bytes committed, the broadcast maybe not yet made) the process is killed, restarted, and blocks
// are mined. Afterwards: one credit per deposit, one consolidation transaction on chain, each
// UTXO spent once in the books, the treasury's coin equal to `treasury:bitcoin`, the ledger
// verified.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Redis } from 'ioredis';
import { Transaction } from 'bitcoinjs-lib';
import { p2wpkhAddress, p2wpkhScript } from '../chains/bitcoin/index.ts';
import { startHermesReplay, type HermesReplay } from '../devnets/index.ts';
import { getBalances, verifyLedger } from '../ledger/index.ts';
import { ChainSignaturesEmulator, Keystore } from '../signer/index.ts';
import { createBitcoinWorld, type BitcoinWorld } from '../testing/bitcoin-world.ts';
import { eventually, type IndexerProcess } from '../testing/evm-world.ts';

const finalityDepth = 2;
const passphrase = 'consolidation-sigkill-test-passphrase';
const redisKeyPrefix = `coffer-test-btc-sigkill-${randomBytes(4).toString('hex')}:`;
const treasuryKey = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true);
const treasury = p2wpkhAddress({ publicKey: treasuryKey, network: 'regtest' });

let world: BitcoinWorld;
let hermes: HermesReplay;
let keystoreDir: string;
let workers: IndexerProcess | undefined;
let env: NodeJS.ProcessEnv;

before(async () => {
  keystoreDir = await mkdtemp(join(tmpdir(), 'coffer-btc-sigkill-'));
  // The workers sign with the emulator kept in this keystore; deposit addresses derive from its roots.
  const emulator = await ChainSignaturesEmulator.open(new Keystore({ directory: keystoreDir, passphrase, kdf: { m: 256, t: 1, p: 1 } }));
  world = await createBitcoinWorld({
    finalityDepth,
    derivation: { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') } },
  });
  hermes = await startHermesReplay();
  env = {
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: redisKeyPrefix,
    HERMES_URL: hermes.url,
    BITCOIN_TREASURY_ADDRESS: treasury,
    // No waiting for company: the test holds the consolidation back itself (below).
    BITCOIN_SWEEP_BATCH_WINDOW_SECONDS: '0',
    JOB_BACKOFF_MS: '200',
    // A killed worker's job is taken over after this long.
    JOB_LOCK_MS: '2000',
    OUTBOX_POLL_INTERVAL_MS: '100',
    OUTBOX_REOFFER_AFTER_MS: '2000',
    COFFER_KEYSTORE_DIR: keystoreDir,
    COFFER_KEYSTORE_PASSPHRASE: passphrase,
    LOG_LEVEL: 'warn',
  };
});

after(async () => {
  await world?.close();
  await hermes?.stop();
  if (keystoreDir) await rm(keystoreDir, { recursive: true, force: true });
  const redis = new Redis(env?.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    const keys = await redis.keys(`${redisKeyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await world.db.pool.query<{ n: string }>(sql, params);
  return Number(rows[0]!.n);
}

const balance = async (account: string) => (await getBalances(world.db.pool, { account, asset: 'BTC' }))[0]?.balance ?? 0n;
const workerOutput = () => workers?.output().slice(-5_000) ?? '';

test('workers SIGKILLed mid-consolidation: one credit per deposit, one transaction, each UTXO spent once, chain = ledger', async (t) => {
  const ann = await world.newDepositor('ann');
  const bob = await world.newDepositor('bob');
  const deposits = [
    { ...ann, valueSat: 150_000n },
    { ...bob, valueSat: 2_500_000n },
  ];
  for (const deposit of deposits) await world.pay(deposit.address, deposit.valueSat);
  await world.devnet.mine(finalityDepth);
  const follower = world.follower();
  await follower.connect();
  await world.catchUp(follower);
  assert.equal(await count("SELECT count(*) AS n FROM journal_entries WHERE kind = 'deposit.confirmed'"), 2);

  // The consolidation waits on this per-chain lock until both deposits are credited, so it
  // takes both UTXOs, whatever batch window each credit's request fell into.
  const lock = await world.db.pool.connect();
  await lock.query('SELECT pg_advisory_lock(hashtext($1))', ['consolidate:bitcoin']);
  workers = world.startCoffer(['start', '--workers'], env);
  try {
    await eventually('both deposits credited', async () => (await count("SELECT count(*) AS n FROM credit_decisions WHERE status = 'credited'")) === 2, 60_000, workerOutput);
  } finally {
    await lock.query('SELECT pg_advisory_unlock(hashtext($1))', ['consolidate:bitcoin']);
    lock.release();
  }

  // Killed the moment the signed consolidation is committed, before it is confirmed.
  const txid = await eventually(
    'a submitted consolidation',
    async () => (await world.db.pool.query<{ tx_hash: string }>("SELECT tx_hash FROM sweeps WHERE status = 'submitted' LIMIT 1")).rows[0]?.tx_hash,
    60_000,
    workerOutput,
    20,
  );
  await workers.stop('SIGKILL');
  const broadcastBeforeKill = (await world.devnet.client.getMempoolEntry(txid)) !== null;
  workers = world.startCoffer(['start', '--workers'], env);

  // The restarted workers take the job over and (re-)broadcast the stored bytes.
  await eventually('the consolidation in the mempool', async () => (await world.devnet.client.getMempoolEntry(txid)) !== null, 60_000, workerOutput);
  await world.devnet.mine(finalityDepth);
  await eventually('the consolidation booked as confirmed', async () => (await count("SELECT count(*) AS n FROM sweeps WHERE status = 'confirmed'")) === 2, 60_000, workerOutput);

  // One credit per deposit.
  assert.equal(await count("SELECT count(*) AS n FROM journal_entries WHERE kind = 'credit.issued'"), 2);
  assert.equal(await count('SELECT count(*) AS n FROM credit_decisions'), 2);

  // One consolidation transaction, spending both deposits, one output to the treasury.
  assert.equal(await count("SELECT count(DISTINCT tx_hash) AS n FROM sweeps WHERE status <> 'failed'"), 1);
  const transaction = Transaction.fromHex((await world.devnet.client.getRawTransaction(txid))!);
  assert.equal(transaction.ins.length, 2, 'both UTXOs in one consolidation');
  assert.equal(transaction.outs.length, 1);
  assert.deepEqual(Buffer.from(transaction.outs[0]!.script), Buffer.from(p2wpkhScript(treasuryKey)));

  // Each UTXO spent once in the books: one sweep.submitted posting per deposit address that no
  // sweep.failed reversed, and one sweep.confirmed.
  const { rows: spends } = await world.db.pool.query<{ path: string; n: string }>(
    `SELECT a.path, count(*)::text AS n
       FROM journal_entries e
       JOIN postings p ON p.entry_id = e.id
       JOIN accounts a ON a.id = p.source_account_id
      WHERE e.kind = 'sweep.submitted' AND NOT EXISTS (SELECT 1 FROM journal_entries r WHERE r.reverses = e.id)
      GROUP BY a.path ORDER BY a.path`,
  );
  assert.deepEqual(
    spends.map((row) => [row.path, row.n]),
    deposits.map((d) => [`custody:bitcoin:${d.address}`, '1']).sort(([a], [b]) => (a! < b! ? -1 : 1)),
  );
  assert.equal(await count("SELECT count(*) AS n FROM journal_entries WHERE kind = 'sweep.confirmed'"), 1);

  // The treasury's coin on chain, unspent, equals `treasury:bitcoin`; the fee booked is the transaction's.
  const coin = await world.devnet.rpc<{ value: number } | null>('gettxout', [txid, 0]);
  assert.ok(coin, 'the treasury output is unspent');
  assert.equal(await balance('treasury:bitcoin'), transaction.outs[0]!.value);
  const inputsSat = deposits.reduce((sum, d) => sum + d.valueSat, 0n);
  assert.equal(await balance('fees:bitcoin'), inputsSat - transaction.outs[0]!.value);
  for (const deposit of deposits) assert.equal(await balance(`custody:bitcoin:${deposit.address}`), 0n);
  assert.equal((await verifyLedger(world.db.pool)).ok, true);
  t.diagnostic(`killed ${broadcastBeforeKill ? 'after' : 'before'} the broadcast`);
});
