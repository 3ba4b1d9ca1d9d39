// Solana end to end, in one process with real parts: the devnet (LiteSVM behind JSON-RPC),
// PostgreSQL, Redis, the Hermes replay, the Solana indexer (the chain follower), and the job
// system (outbox → BullMQ → credits → sweeps). Deposits are sent through @solana/kit. A SOL and
// a USDC deposit go pending → confirmed → credited → swept; the chain and the ledger agree; a
// sweep whose worker dies between storing and broadcasting lands exactly one transaction.
// (A dropped slot reversing a pending deposit: indexers/solana/indexer.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signature as toSignature, type Address } from '@solana/kit';
import { startHermesReplay, startSolanaDevnet, type HermesReplay, type SolanaDevnet } from '../../devnets/index.ts';
import { createLogger, loadConfig, type Config } from '../../infra/index.ts';
import { ChainFollower } from '../../indexers/core/index.ts';
import { solanaWallet, type SolanaWallet } from '../../testing/solana-wallet.ts';
import { registerSolanaTokens, solanaFollowSettings, solanaRpc, solanaTokens, SolanaBlockSource } from '../../indexers/solana/index.ts';
import { startJobSystem, sweepChains, type JobSystem } from '../../jobs/system.ts';
import { sweepDeposit } from '../../sweeps/sweeps.ts';
import { chart, getBalances, LedgerWriter, verifyLedger } from '../../ledger/index.ts';
import { ChainSignaturesEmulator, EmulatorSigner, Keystore } from '../../signer/index.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { solanaAddressCodec } from './codec.ts';

const logger = createLogger({ level: 'warn' });
const emulator = new ChainSignaturesEmulator({
  secp256k1: 0xb9f8b751f90cc222c21378d31b9be8408fbf0f3cc8fb0607fa2f6b4ab4ee1bf8n,
  ed25519: 0x0ba1df8b0a04f86c210e692d87f9f924e70d83ab81c06f2f2c2145bcfc1ee5aen,
});
const derivation = { nearNetwork: 'testnet' as const, bitcoinNetwork: 'regtest' as const, roots: { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') } };
const feePayerFunding = 5_000_000_000n;

let devnet: SolanaDevnet;
let db: TestDatabase;
let hermes: HermesReplay;
let wallet: SolanaWallet;
let keystoreDir: string;
let keystore: Keystore;
let config: Config;
let writer: LedgerWriter;
let jobs: JobSystem;
let follower: ChainFollower;
let slots: NodeJS.Timeout;
let treasury: string;
let feePayer: string;

before(async () => {
  devnet = await startSolanaDevnet({ slotIntervalMs: 'manual' });
  db = await createTestDatabase();
  hermes = await startHermesReplay();
  wallet = await solanaWallet(devnet);
  keystoreDir = await mkdtemp(join(tmpdir(), 'coffer-solana-'));
  keystore = new Keystore({ directory: keystoreDir, passphrase: 'solana-test-passphrase', kdf: { m: 256, t: 1, p: 1 } });
  feePayer = solanaAddressCodec.fromPublicKey((await keystore.create('solana-fee-payer', 'ed25519')).publicKey);
  treasury = solanaAddressCodec.fromPublicKey(randomBytes(32));
  config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `coffer-test-solana-${process.pid}:`,
    HERMES_URL: hermes.url,
    SOLANA_RPC_URL: devnet.rpcUrl,
    SOLANA_TREASURY_ADDRESS: treasury,
    CREDIT_ASSET_PRICING: 'USDC=usd:1',
    JOB_BACKOFF_MS: '200',
    OUTBOX_POLL_INTERVAL_MS: '100',
    LOG_LEVEL: 'warn',
  });
  writer = new LedgerWriter({ pool: db.pool, logger });
  // The operator funds the fee payer on chain and books it (what a refill would do).
  await wallet.sendSol(feePayer, feePayerFunding);
  await writer.transaction(async (tx) => {
    await tx.append([{ kind: 'operations.funded', idempotencyKey: 'solana:fee-payer:funded', postings: [{ source: chart.world('solana'), destination: chart.operations('solana', 'fee-payer'), asset: 'SOL', amount: feePayerFunding }] }]);
  });
  const rpc = solanaRpc(devnet.rpcUrl);
  const tokens = solanaTokens(config);
  await registerSolanaTokens(db.pool, rpc, tokens);
  follower = new ChainFollower({ pool: db.pool, writer, source: new SolanaBlockSource({ rpc, tokens }), settings: solanaFollowSettings(config, devnet.slot()), logger });
  await follower.connect();
  jobs = await startJobSystem({ config, pool: db.pool, writer, signer: new EmulatorSigner(emulator), logger, keystore });
  // Slots every 25 ms (finality in about a second), each followed by one indexer pass.
  let busy = false;
  slots = setInterval(() => {
    if (busy) return;
    busy = true;
    devnet.produceSlots(1);
    follower.step().then(
      () => (busy = false),
      (error: unknown) => {
        busy = false;
        logger.error('indexer pass failed', { error });
      },
    );
  }, 25);
});

after(async () => {
  clearInterval(slots);
  await jobs?.stop();
  await hermes?.stop();
  await devnet?.stop();
  await db?.drop();
  if (keystoreDir) await rm(keystoreDir, { recursive: true, force: true });
});

async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ledger = async (account: string, asset: string) => (await getBalances(db.pool, { account, asset }))[0]?.balance ?? 0n;
const rpc = () => wallet.rpc;
const count = async (sql: string, params: unknown[]) => Number((await db.pool.query<{ n: bigint }>(sql, params)).rows[0]!.n);

describe('Solana end to end', () => {
  test('SOL and USDC deposits are confirmed, credited and swept; treasury, fees and the fee payer match the chain', async () => {
    const user = await createUser(db.pool, { nearAccountId: 'sol-e2e.testnet', isSweepEnabled: true });
    const { address } = await getDepositAddress(db.pool, user.id, 'solana', derivation);
    await wallet.sendSol(address, 2_000_000_000n);
    await wallet.sendUsdc(address, 40_000_000n);

    await eventually('both sweeps confirmed', async () => (await count("SELECT count(*) AS n FROM sweeps WHERE user_id = $1 AND status = 'confirmed'", [user.id])) === 2);
    const { rows: credits } = await db.pool.query<{ asset: string; choco: string; price_observation_id: bigint | null }>(
      "SELECT asset, choco::text, price_observation_id FROM credit_decisions WHERE user_id = $1 AND status = 'credited' ORDER BY asset",
      [user.id],
    );
    assert.deepEqual(credits.map((c) => c.asset), ['SOL', 'USDC']);
    assert.ok(credits[0]!.price_observation_id !== null, 'SOL is priced by Pyth at the block time');
    assert.equal(BigInt(credits[1]!.choco), 4_000n * 10n ** 18n, 'USDC at its configured $1 × 100 CHOCO/USD');

    // The deposit address is empty (SOL to 0, its token account closed); the treasury holds what the ledger says.
    assert.equal((await rpc().getBalance(address as Address, { commitment: 'confirmed' }).send()).value, 0n);
    assert.equal((await rpc().getAccountInfo(await wallet.associatedTokenAccount(address), { commitment: 'confirmed' }).send()).value, null);
    const client = sweepChains(config, keystore).get('solana')!.adapter.connect({ rpcUrl: devnet.rpcUrl });
    const treasuryTokens = await client.balance(treasury, { code: 'USDC', scale: 6, contract: devnet.tokens.USDC });
    assert.equal(treasuryTokens, await ledger(chart.treasury('solana'), 'USDC'));
    assert.equal(treasuryTokens, 40_000_000n);
    assert.equal((await rpc().getBalance(treasury as Address, { commitment: 'confirmed' }).send()).value, await ledger(chart.treasury('solana'), 'SOL'));
    assert.equal(await ledger(chart.treasury('solana'), 'SOL'), 2_000_000_000n);

    // Fees booked are the chain's fees; the fee payer's account is its balance on chain.
    const { rows: sweeps } = await db.pool.query<{ tx_hash: string; fee: string }>('SELECT tx_hash, fee::text FROM sweeps WHERE user_id = $1', [user.id]);
    let chainFees = 0n;
    for (const sweep of sweeps) {
      const landed = await rpc().getTransaction(toSignature(sweep.tx_hash), { commitment: 'confirmed', encoding: 'json', maxSupportedTransactionVersion: 0 }).send();
      chainFees += landed!.meta!.fee;
      assert.equal(BigInt(sweep.fee), landed!.meta!.fee);
    }
    assert.equal(await ledger(chart.fees('solana'), 'SOL'), chainFees);
    assert.equal((await rpc().getBalance(feePayer as Address, { commitment: 'confirmed' }).send()).value, await ledger(chart.operations('solana', 'fee-payer'), 'SOL'));

    const report = await verifyLedger(db.pool);
    assert.ok(report.ok, JSON.stringify(report, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  });

  test('a sweep whose worker dies between storing and broadcasting lands exactly one transaction', async () => {
    const user = await createUser(db.pool, { nearAccountId: 'sol-crash.testnet', isSweepEnabled: false });
    const { address } = await getDepositAddress(db.pool, user.id, 'solana', derivation);
    await wallet.sendSol(address, 1_000_000_000n);
    await eventually('the deposit credited', async () => (await count("SELECT count(*) AS n FROM credit_decisions WHERE user_id = $1 AND status = 'credited'", [user.id])) === 1);
    const { rows } = await db.pool.query<{ deposit_entry_id: bigint }>('SELECT deposit_entry_id FROM credit_decisions WHERE user_id = $1', [user.id]);
    const depositEntryId = BigInt(rows[0]!.deposit_entry_id);

    const solana = sweepChains(config, keystore).get('solana')!;
    const crashing = { ...solana, adapter: { ...solana.adapter, connect: (settings: { rpcUrl: string }) => ({ ...solana.adapter.connect(settings), broadcast: () => Promise.reject(new Error('worker killed before the broadcast')) }) } };
    const context = { pool: db.pool, writer, signer: new EmulatorSigner(emulator), logger, chains: new Map([['solana', { ...crashing, pollIntervalMs: 50 }]]) };
    await assert.rejects(sweepDeposit(context, depositEntryId), /worker killed/);
    const stored = (await db.pool.query<{ status: string; tx_hash: string }>('SELECT status, tx_hash FROM sweeps WHERE deposit_entry_id = $1', [depositEntryId.toString()])).rows[0]!;
    assert.equal(stored.status, 'submitted');

    const retried = await sweepDeposit({ ...context, chains: new Map([['solana', { ...solana, pollIntervalMs: 50 }]]) }, depositEntryId);
    assert.equal(retried.status, 'confirmed');
    assert.equal(retried.status === 'confirmed' && retried.txHash, stored.tx_hash, 'the retry broadcast the stored transaction');
    const history = await rpc().getSignaturesForAddress(address as Address, { commitment: 'confirmed' }).send();
    assert.deepEqual(history.map((entry) => entry.signature).filter((signature) => signature === stored.tx_hash).length, 1);
    assert.equal(history.length, 2, 'the deposit and one sweep, nothing else');
    assert.equal((await rpc().getBalance(address as Address, { commitment: 'confirmed' }).send()).value, 0n);
    assert.equal((await verifyLedger(db.pool)).ok, true);
  });
});
