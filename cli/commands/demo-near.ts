// The NEAR MVP for `coffer demo` (seed 004): a NEAR devnet, one user whose NEAR account is their
// deposit address, 1.5 NEAR and 0.009 NEAR and 2.5 USDC sent to it, the NEAR indexer and the
// credit job with the MVP's rules (NEAR=choco:5000, CREDIT_MINIMUM_NATIVE near=0.01,
// USDC=usd:1), the sweep to the treasury (demo-near-sweep.ts), and each deposit's history. It has
// its own database, so the main demo's workers (which price NEAR on Pyth) never race it for
// these credits.
import { Account, JsonRpcProvider, KeyPair, nearToYocto } from 'near-api-js';
import { ftStorageDepositYocto, startNearDevnet } from '../../devnets/index.ts';
import { createPool, dropDatabase, ensureDatabase, silentLogger, splitDatabaseUrl } from '../../infra/index.ts';
import { ChainFollower, NearBlockSource, nearRpc, nearSettings, registerNearTokens, watchedNearAccounts } from '../../indexers/index.ts';
import { creditDeposit, parseAssetPricing, parseChainMinimums, parseDecimal, parseNativeMinimums, PriceSource } from '../../credits/index.ts';
import { formatUnits, LedgerWriter, verifyLedger } from '../../ledger/index.ts';
import { migrate } from '../../migrations/index.ts';
import { createUser, getDepositAddress, type DerivationSettings } from '../../users/index.ts';
import { nearSweepDemo } from './demo-near-sweep.ts';
import { depositHistories, describeCredit, stepOf } from './demo-narration.ts';

const followStepsMax = 50;

/** Runs the NEAR deposit and credit flow; true when every step succeeded and the ledger verifies. */
export async function nearDemo(options: { databaseUrl: string; derivation: DerivationSettings; say: (line: string) => void }): Promise<boolean> {
  const { say } = options;
  await ensureDatabase(options.databaseUrl);
  await migrate({ connectionString: options.databaseUrl });
  const pool = createPool({ connectionString: options.databaseUrl, max: 4, applicationName: 'coffer-demo-near' });
  const writer = new LedgerWriter({ pool, logger: silentLogger });
  const devnet = await startNearDevnet({ blocks: 'on-demand' });
  try {
    say(`NEAR devnet at ${devnet.rpcUrl} (faucet ${devnet.faucet.accountId}, USDC ${devnet.tokens.USDC}); its own database ${splitDatabaseUrl(options.databaseUrl).database}`);
    const rpc = nearRpc(devnet.rpcUrl);
    const tokens = new Map([[devnet.tokens.USDC, 'USDC']]);
    await registerNearTokens(pool, rpc, tokens);
    const userKey = KeyPair.fromRandom('ed25519');
    const account = Buffer.from(userKey.getPublicKey().data).toString('hex');
    const user = await createUser(pool, { nearAccountId: account });
    await getDepositAddress(pool, user.id, 'near', options.derivation);
    say(`user ${user.id}: their NEAR account ${account.slice(0, 12)}… is their deposit address`);

    const faucet = new Account(devnet.faucet.accountId, new JsonRpcProvider({ url: devnet.rpcUrl }), devnet.faucet.privateKey);
    await faucet.transfer({ receiverId: account, amount: nearToYocto('1.5') });
    await faucet.transfer({ receiverId: account, amount: nearToYocto('0.009') });
    await faucet.callFunction({ contractId: devnet.tokens.USDC, methodName: 'storage_deposit', args: { account_id: account }, deposit: ftStorageDepositYocto });
    await faucet.callFunction({ contractId: devnet.tokens.USDC, methodName: 'ft_transfer', args: { receiver_id: account, amount: '2500000' }, deposit: 1n });
    say('sent 1.5 NEAR, 0.009 NEAR and 2.5 USDC (NEP-141) to it');

    const source = new NearBlockSource({ rpc, tokens, watched: watchedNearAccounts(pool) });
    const follower = new ChainFollower({ pool, writer, source, settings: nearSettings({ NEAR_POLL_INTERVAL_MS: 250 }), logger: silentLogger });
    await follower.connect();
    let confirmed = 0;
    for (let step = 0; step < followStepsMax; step += 1) {
      const batch = await follower.step();
      confirmed += batch?.confirmed ?? 0;
      if (!batch || batch.toHeight >= batch.head) break;
    }
    say(`NEAR indexer: ${confirmed} deposits confirmed at the final block`);

    const prices = new PriceSource({ db: pool, hermesUrl: 'http://127.0.0.1:9', limits: { maxAgeSeconds: 60, maxConfBps: 200 } });
    const settings = {
      pricing: parseAssetPricing('NEAR=choco:5000,USDC=usd:1'),
      minimumsUsd: parseChainMinimums('near=0'),
      minimumsNative: parseNativeMinimums('near=0.01'),
      chocoPerUsd: parseDecimal('100', 'demo'),
      sweepChains: new Set<string>(),
    };
    // The credit jobs `coffer start` would run, one per confirmation, run here in order.
    const confirmedDeposits = await depositHistories(pool, user.id, 'near', account);
    for (const deposit of confirmedDeposits) {
      const confirmation = stepOf(deposit, 'confirmed')?.entryId;
      if (confirmation) await creditDeposit({ pool, writer, prices, settings }, confirmation);
    }

    // The 1.5 NEAR deposit (the first): its sweep moves the account's custody, the 0.009 NEAR with it.
    const first = confirmedDeposits[0];
    const swept = first !== undefined && (await nearSweepDemo({ pool, writer, devnet, accountId: account, privateKey: userKey.toString(), depositEntryId: first.entryId, say }));
    for (const history of await depositHistories(pool, user.id, 'near', account)) {
      const sweep = stepOf(history, 'sweep');
      const sweepLine = sweep ? `; swept ${formatUnits(sweep.amount ?? 0n, sweep.scale)} ${sweep.asset} in ${sweep.txHash?.slice(0, 10)}…` : '';
      say(`  ${formatUnits(history.amount, history.scale)} ${history.asset} (tx ${history.txHash?.slice(0, 10)}…): ${history.steps.map((s) => s.step).join(' → ')}; ${describeCredit(history) ?? 'undecided'}${sweepLine}`);
    }
    const report = await verifyLedger(pool);
    say(`NEAR ledger: ${report.ok ? 'every invariant holds' : 'VIOLATIONS FOUND'} (${report.entries} entries)`);
    return report.ok && confirmed === 3 && swept;
  } finally {
    await devnet.stop();
    await writer.close();
    await pool.end();
    await dropDatabase(options.databaseUrl);
  }
}

