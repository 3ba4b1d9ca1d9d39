// The Solana step of `coffer demo`: a LiteSVM devnet (a slot every 100 ms, finalized 32 slots
// later), its own database, keystore and Redis prefix, the Solana indexer and the workers in
// this process as `coffer start` runs them, and one user's SOL deposit narrated from pending to
// swept. The operator's side comes first: the fee payer key (which pays every sweep's fee) is
// created, funded on chain, and its funding booked from the chain. Own database, so the main
// demo's workers never race it.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { solanaAddressCodec } from '../../chains/index.ts';
import { startSolanaDevnet } from '../../devnets/index.ts';
import { createPool, dropDatabase, ensureDatabase, loadConfig, silentLogger, splitDatabaseUrl } from '../../infra/index.ts';
import { ChainFollower, recordSolanaFeePayerFunding, registerSolanaTokens, SolanaBlockSource, solanaFollowSettings, solanaRpc, solanaTokens } from '../../indexers/index.ts';
import { startJobSystem } from '../../jobs/index.ts';
import { chart, formatUnits, getBalances, LedgerWriter, verifyLedger } from '../../ledger/index.ts';
import { migrate } from '../../migrations/index.ts';
import { EmulatorSigner, Keystore, type ChainSignaturesEmulator } from '../../signer/index.ts';
import { solanaWallet } from '../../testing/index.ts';
import { createUser, getDepositAddress, type DerivationSettings } from '../../users/index.ts';
import { deleteRedisKeys } from './demo-cleanup.ts';
import { depositHistories, describeCredit, stepOf } from './demo-narration.ts';

const slotIntervalMs = 100;
const depositLamports = 1_500_000_000n;
const feePayerFundingLamports = 100_000_000n;
const stepTimeoutMs = 120_000;
const lamportsScale = 9;

/** Runs the Solana deposit from the chain to the treasury; true when every step succeeded and the ledger verifies. */
export async function solanaDemo(options: {
  databaseUrl: string;
  derivation: DerivationSettings;
  emulator: ChainSignaturesEmulator;
  hermesUrl: string;
  redisUrl: string;
  say: (line: string) => void;
}): Promise<boolean> {
  const say = (line: string) => options.say(`SOL ${line}`);
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    await ensureDatabase(options.databaseUrl);
    cleanups.unshift(() => dropDatabase(options.databaseUrl));
    await migrate({ connectionString: options.databaseUrl });
    const pool = createPool({ connectionString: options.databaseUrl, max: 6, applicationName: 'coffer-demo-solana' });
    cleanups.unshift(() => pool.end());
    const writer = new LedgerWriter({ pool, logger: silentLogger });
    cleanups.unshift(() => writer.close());
    const devnet = await startSolanaDevnet({ slotIntervalMs });
    cleanups.unshift(() => devnet.stop());
    const keystoreDir = await mkdtemp(join(tmpdir(), 'coffer-demo-solana-keys-'));
    cleanups.push(() => rm(keystoreDir, { recursive: true, force: true }));
    const keystore = new Keystore({ directory: keystoreDir, passphrase: randomBytes(18).toString('base64url') });
    const feePayer = solanaAddressCodec.fromPublicKey((await keystore.create('solana-fee-payer', 'ed25519')).publicKey);
    const treasury = solanaAddressCodec.fromPublicKey(randomBytes(32));
    say(`LiteSVM devnet at ${devnet.rpcUrl} (a slot every ${slotIntervalMs} ms); its own database ${splitDatabaseUrl(options.databaseUrl).database}; treasury ${treasury}`);

    const redisPrefix = `coffer-demo-solana-${randomBytes(3).toString('hex')}:`;
    cleanups.push(() => deleteRedisKeys(options.redisUrl, redisPrefix));
    const config = loadConfig({
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      REDIS_KEY_PREFIX: redisPrefix,
      HERMES_URL: options.hermesUrl,
      SOLANA_RPC_URL: devnet.rpcUrl,
      SOLANA_TREASURY_ADDRESS: treasury,
      SOLANA_POLL_INTERVAL_MS: '100',
      OUTBOX_POLL_INTERVAL_MS: '100',
      LOG_LEVEL: 'warn',
    });
    const rpc = solanaRpc(devnet.rpcUrl);
    const wallet = await solanaWallet(devnet);
    const until = async <T>(what: string, check: () => Promise<T | undefined>): Promise<T> => {
      const deadline = Date.now() + stepTimeoutMs;
      for (;;) {
        const value = await check();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out after ${stepTimeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };

    // The operator's side: fund the fee payer on chain, then book that funding from the chain.
    const funding = await wallet.sendSol(feePayer, feePayerFundingLamports);
    const funded = await until('the fee payer funding finalized', () => recordSolanaFeePayerFunding({ writer, rpc, feePayer }, funding).catch(() => undefined));
    say(`fee payer ${feePayer} (keystore key solana-fee-payer) funded with ${formatUnits(funded.lamports, lamportsScale)} SOL and booked to ${chart.operations('solana', 'fee-payer')}`);

    const tokens = solanaTokens(config);
    await registerSolanaTokens(pool, rpc, tokens);
    const follower = new ChainFollower({ pool, writer, source: new SolanaBlockSource({ rpc, tokens }), settings: solanaFollowSettings(config, devnet.slot()), logger: silentLogger });
    const following = follower.run();
    cleanups.unshift(async () => {
      follower.halt();
      await following;
    });
    const jobs = await startJobSystem({ config, pool, writer, signer: new EmulatorSigner(options.emulator), logger: silentLogger, keystore });
    cleanups.unshift(() => jobs.stop());

    const user = await createUser(pool, { nearAccountId: `demo-sol-${randomBytes(3).toString('hex')}.testnet` });
    const { address } = await getDepositAddress(pool, user.id, 'solana', options.derivation);
    const paid = await wallet.sendSol(address, depositLamports);
    say(`user ${user.id}: sent ${formatUnits(depositLamports, lamportsScale)} SOL to solana deposit address ${address} (${paid.slice(0, 12)}…)`);

    const history = async () => (await depositHistories(pool, user.id, 'solana', address))[0];
    const pending = await until('the SOL deposit seen', history);
    say(`seen (pending at confirmed): in slot ${pending.blockHeight}`);
    await until('the SOL deposit finalized', async () => {
      const seen = await history();
      return seen && stepOf(seen, 'confirmed');
    });
    say('confirmed (finalized): pending → custody');
    const credit = await until('the SOL deposit credited', async () => {
      const seen = await history();
      return seen && describeCredit(seen);
    });
    say(`priced and credited: ${credit}`);
    const sweep = await until('the SOL sweep finalized', async () => {
      const seen = await history();
      const step = seen && stepOf(seen, 'sweep');
      return step?.status === 'confirmed' ? step : undefined;
    });
    const onChain = async (account: string) => BigInt(await rpc<{ value: number }>('getBalance', [account, { commitment: 'confirmed' }]).then((r) => r.value));
    const booked = async (account: string) => (await getBalances(pool, { account, asset: 'SOL' }))[0]?.balance ?? 0n;
    const [treasuryChain, treasuryLedger, payerChain, payerLedger] = await Promise.all([onChain(treasury), booked(chart.treasury('solana')), onChain(feePayer), booked(chart.operations('solana', 'fee-payer'))]);
    say(`swept to the treasury: ${sweep.txHash?.slice(0, 12)}…, fee ${sweep.fee} lamports paid by the fee payer`);
    say(`  treasury ${formatUnits(treasuryChain, lamportsScale)} SOL on chain = ${formatUnits(treasuryLedger, lamportsScale)} SOL in the ledger; fee payer ${formatUnits(payerChain, lamportsScale)} SOL on chain = ${formatUnits(payerLedger, lamportsScale)} SOL in the ledger`);
    const report = await verifyLedger(pool);
    say(`ledger: ${report.ok ? 'every invariant holds' : 'VIOLATIONS FOUND'} (${report.entries} entries)`);
    return report.ok && treasuryChain === treasuryLedger && payerChain === payerLedger;
  } catch (error) {
    say(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

