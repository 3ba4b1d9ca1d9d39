// `coffer demo` (`npm run demo`): the newcomer's first command. It builds a whole little world —
// anvil, the local Hermes replay server, a fresh database, the contracts — runs the real main
// job (`coffer start`: API, projections, the EVM indexer and the workers, each as production
// runs them) against it, makes one user's ETH and token deposits, and narrates the pipeline:
// seen, confirmed, priced, credited, swept. Then it prints the user's balances, the trial
// balance and `coffer verify`'s verdict. `--ci` exits (0 only if every step succeeded);
// otherwise the API stays up until Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiKey } from '../../access/index.ts';
import { chainAdapter, evmChain, evmPublicClient } from '../../chains/index.ts';
import { deployContracts } from '../../contracts/index.ts';
import { freePort, mintTestToken, startAnvil, startHermesReplay, testTokenAsset as tokenAsset, testTokenScale, testTokenTransfer as tokenTransfer } from '../../devnets/index.ts';
import { createPool, describeConnectionError, dropDatabase, ensureDatabase, loadConfig, openRedis, pg, quoteIdentifier, redisAddress, splitDatabaseUrl, stopProcess } from '../../infra/index.ts';
import { chart, formatUnits, getBalances, getTrialBalance, registerAsset, verifyLedger } from '../../ledger/index.ts';
import { migrate } from '../../migrations/index.ts';
import { ChainSignaturesEmulator, Keystore } from '../../signer/index.ts';
import { createUser, getDepositAddress } from '../../users/index.ts';
import { depositHistories, describeCredit, stepOf } from './demo-narration.ts';
import { nearDemo } from './demo-near.ts';
import { bitcoinDemoStep } from './demo-bitcoin.ts';
import { solanaDemo } from './demo-solana.ts';
import { parse, UsageError } from './index.ts';
import { deleteRedisKeys } from './demo-cleanup.ts';

const cli = fileURLToPath(new URL('../coffer.ts', import.meta.url));
const finalityDepth = 3;
const sweepConfirmations = 2;
const stepTimeoutMs = 120_000;
/** The demo's deposits and sweeps run on the EVM chain (anvil); its assets come from the adapter. */
const evm = chainAdapter(evmChain);
type EvmAddress = `0x${string}`;

export async function demo(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ci: { type: 'boolean' }, port: { type: 'string' } });
  const config = loadConfig();
  if (positionals[0] === 'clean') return clean(config.DATABASE_URL, config.REDIS_URL);
  if (positionals.length > 0) throw new UsageError(`demo takes no argument but "clean" (got "${positionals[0]}")`);
  const ci = values.ci ?? false;
  const started = Date.now();
  const say = (line: string) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
  // Both servers first, each with one line that says what is wrong: a demo that waits minutes on a missing Redis teaches nothing.
  const unreachable = (await Promise.all([postgresProblem(config.DATABASE_URL), redisProblem(config.REDIS_URL)])).filter((line) => line !== null);
  if (unreachable.length > 0) {
    for (const line of unreachable) process.stderr.write(`coffer demo: ${line}\n`);
    process.stdout.write('\ndemo: FAILED\n');
    return 1;
  }
  const cleanups: (() => Promise<unknown>)[] = [];
  let app: ChildProcess | null = null;
  let appLog = '';
  let ok = false;

  try {
    const anvil = await startAnvil({ blockTimeSeconds: 1 });
    cleanups.unshift(() => anvil.stop());
    say(`anvil (cancun, a block a second) at ${anvil.url}`);
    const hermes = await startHermesReplay();
    cleanups.unshift(() => hermes.stop());
    say(`local Hermes replay server at ${hermes.url} (ETH/USD, BTC/USD, SOL/USD, NEAR/USD)`);
    const bitcoin = await bitcoinDemoStep({ cleanups, say });

    const stamp = `${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}_${randomBytes(2).toString('hex')}`;
    const url = new URL(config.DATABASE_URL);
    url.pathname = `/coffer_demo_${stamp}`;
    const databaseUrl = url.toString();
    await ensureDatabase(databaseUrl);
    await migrate({ connectionString: databaseUrl });
    if (ci) cleanups.push(() => dropDatabase(databaseUrl));
    say(`fresh database ${splitDatabaseUrl(databaseUrl).database}, migrated`);
    const pool = createPool({ connectionString: databaseUrl, max: 4, applicationName: 'coffer-demo' });
    cleanups.push(() => pool.end());

    // anvil's development accounts: one funds the deposits, one is the sweeps' treasury, one the contracts'.
    const [, funder, , , , , , , treasury, contractsTreasury] = anvil.accounts;
    if (!funder || !treasury || !contractsTreasury) throw new Error(`anvil offers ${anvil.accounts.length} development accounts; the demo needs 10`);
    const contracts = await deployContracts({ rpcUrl: anvil.url, treasury: contractsTreasury });
    await registerAsset(pool, { code: tokenAsset, scale: testTokenScale, chain: evmChain, contract: contracts.testToken.toLowerCase() });
    await mintTestToken(anvil.url, contracts, funder, 10n ** 12n);
    say(`contracts deployed: EntryPoint ${contracts.entryPoint}, forwarder ${contracts.forwarder}, ${tokenAsset} (6 decimals) ${contracts.testToken}`);

    // The signing emulator's roots live in a throwaway keystore; addresses derive from them, so
    // the workers can sign the sweeps.
    const keystoreDir = await mkdtemp(join(tmpdir(), 'coffer-demo-keys-'));
    cleanups.push(() => rm(keystoreDir, { recursive: true, force: true }));
    const passphrase = randomBytes(18).toString('base64url');
    const emulator = await ChainSignaturesEmulator.open(new Keystore({ directory: keystoreDir, passphrase }));
    const user = await createUser(pool, { nearAccountId: `demo-${randomBytes(3).toString('hex')}.testnet` });
    const derivation = { nearNetwork: 'testnet' as const, bitcoinNetwork: 'regtest' as const, roots: { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') } };
    const deposit = await getDepositAddress(pool, user.id, evmChain, derivation);
    const address = deposit.address as EvmAddress;
    say(`user ${user.id} (${user.nearAccountId}); ${evmChain} deposit address ${address} (path ${deposit.path}) — ${deposit.uri}`);

    const redisPrefix = `coffer-demo-${stamp}:`;
    if (ci) cleanups.push(() => deleteRedisKeys(config.REDIS_URL, redisPrefix));
    const port = values.port ? Number(values.port) : await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      REDIS_KEY_PREFIX: redisPrefix,
      PORT: String(port),
      EVM_RPC_URL: anvil.url,
      EVM_FINALITY_DEPTH: String(finalityDepth),
      EVM_HEAD_POLL_INTERVAL_MS: '250',
      EVM_FORWARDER_ADDRESS: contracts.forwarder,
      EVM_ENTRYPOINT_ADDRESS: contracts.entryPoint,
      EVM_TREASURY_ADDRESS: treasury,
      SWEEP_CONFIRMATIONS: String(sweepConfirmations),
      HERMES_URL: hermes.url,
      CREDIT_ASSET_PRICING: `${tokenAsset}=usd:1`,
      COFFER_KEYSTORE_DIR: keystoreDir,
      COFFER_KEYSTORE_PASSPHRASE: passphrase,
      OUTBOX_POLL_INTERVAL_MS: '250',
      LOG_LEVEL: 'warn',
      SQD_LOG: 'warn',
      ...bitcoin.env,
    };
    app = spawn(process.execPath, [cli, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const running = app;
    const collect = (chunk: Buffer) => {
      appLog = (appLog + chunk.toString()).slice(-20_000);
    };
    running.stdout?.on('data', collect);
    running.stderr?.on('data', collect);
    cleanups.unshift(() => stopProcess(running, 10_000));
    const apiUrl = `http://127.0.0.1:${port}`;
    await until('the API to answer', async () => (await fetch(`${apiUrl}/health`).then((r) => r.ok).catch(() => false)) || undefined, () => appLog);
    say(`coffer start is running (API, projections, EVM indexer, workers) — API at ${apiUrl}`);

    const wallet = evmPublicClient(anvil.url);
    const send = (tx: { to: EvmAddress; value?: bigint; data?: `0x${string}` }) =>
      anvil.rpc<`0x${string}`>('eth_sendTransaction', [{ from: funder, to: tx.to, ...(tx.value ? { value: `0x${tx.value.toString(16)}` } : {}), ...(tx.data ? { data: tx.data } : {}) }]);
    const ethTx = await send({ to: address, value: 5n * 10n ** 17n });
    const tokenTx = await send({ to: contracts.testToken, data: tokenTransfer(address, 50_000_000n) });
    say(`sent 0.5 ETH (${ethTx.slice(0, 12)}…) and 50 ${tokenAsset} (${tokenTx.slice(0, 12)}…) to the deposit address`);

    const seen = new Set<string>();
    const milestone = async (key: string, what: string, check: () => Promise<string | undefined>) => {
      const detail = await until(what, check, () => appLog);
      if (!seen.has(key)) {
        seen.add(key);
        say(`${what}: ${detail}`);
      }
    };
    const deposits = () => depositHistories(pool, user.id, evmChain, address);
    await milestone('seen', 'deposits seen (pending)', async () => {
      const seenDeposits = await deposits();
      return seenDeposits.length === 2 ? seenDeposits.map((d) => `${d.asset} in block ${d.blockHeight}`).join(', ') : undefined;
    });
    await milestone('confirmed', `deposits confirmed (${finalityDepth} blocks deep)`, async () => {
      const confirmed = (await deposits()).filter((d) => stepOf(d, 'confirmed'));
      return confirmed.length === 2 ? 'pending → custody for both' : undefined;
    });
    await milestone('credited', 'priced and credited', async () => {
      const credits = (await deposits()).map(describeCredit);
      return credits.length === 2 && credits.every((line) => line !== undefined) ? credits.sort().join('; ') : undefined;
    });
    await milestone('swept', `swept to the treasury (${sweepConfirmations} confirmations)`, async () => {
      const swept = (await deposits()).map((d) => ({ deposit: d, sweep: stepOf(d, 'sweep') }));
      if (swept.length < 2 || swept.some(({ sweep }) => sweep?.status !== 'confirmed')) {
        const failed = swept.find(({ sweep }) => sweep?.status === 'failed' || sweep?.status === 'waiting_for_gas');
        if (failed) say(`  (a sweep is ${failed.sweep?.status}; waiting for its retry)`);
        return undefined;
      }
      return swept
        .map(({ deposit, sweep }) => `${deposit.asset} ${formatUnits(sweep?.amount ?? 0n, deposit.scale)} in ${sweep?.txHash?.slice(0, 12)}… (gas ${formatUnits(sweep?.fee ?? 0n, evm.feeAsset.scale)} ${evm.feeAsset.code})`)
        .join('; ');
    });

    await bitcoin.run({ pool, derivation });

    process.stdout.write('\nbalances of the user\n');
    for (const account of [chart.depositPending(evmChain, address), chart.custody(evmChain, address), chart.userChoco(user.id)]) {
      for (const b of await getBalances(pool, { account })) process.stdout.write(`  ${b.account.padEnd(70)} ${formatUnits(b.balance, b.scale).padStart(28)} ${b.asset}\n`);
    }
    const treasuryEth = await wallet.getBalance({ address: treasury });
    process.stdout.write(`  (treasury ${treasury} now holds ${formatUnits(treasuryEth, evm.nativeAsset.scale)} ${evm.nativeAsset.code} on chain)\n`);
    process.stdout.write('\ntrial balance (debits = credits per asset)\n');
    const trial = await getTrialBalance(pool);
    for (const line of trial) {
      process.stdout.write(`  ${line.asset.padEnd(8)} debits ${formatUnits(line.debits, line.scale).padStart(26)}  credits ${formatUnits(line.credits, line.scale).padStart(26)}  ${line.debits === line.credits ? 'balanced' : 'UNBALANCED'}\n`);
    }
    const report = await verifyLedger(pool);
    process.stdout.write(`\ncoffer verify: ${report.ok ? 'every invariant holds' : 'VIOLATIONS FOUND'} (${report.entries} entries, ${report.checks.length} checks)\n`);
    for (const check of report.checks.filter((c) => !c.ok)) process.stdout.write(`  FAIL ${check.name}: ${check.message}\n`);
    ok = report.ok && trial.every((line) => line.debits === line.credits);
    ok = (await nearDemo({ databaseUrl: `${databaseUrl}_near`, derivation, say })) && ok;
    ok = (await solanaDemo({ databaseUrl: `${databaseUrl}_solana`, derivation, emulator, hermesUrl: hermes.url, redisUrl: config.REDIS_URL, say })) && ok;

    if (!ci) {
      const key = await createApiKey(pool, { role: 'operator', name: 'demo operator' });
      process.stdout.write(
        `\nThe API stays up at ${apiUrl} (docs ${apiUrl}/docs, queues ${apiUrl}/admin/queues).\n` +
          `An operator key for this demo database: ${key.key}\n` +
          `  curl -H 'Authorization: Bearer ${key.key}' ${apiUrl}/v1/users/${user.id}/deposits\n` +
          `Ctrl-C stops everything; the database ${splitDatabaseUrl(databaseUrl).database} and the Redis keys under ${redisPrefix} are kept\n` +
          `for you to look at. Remove every demo's leftovers with: coffer demo clean\n`,
      );
      const userKey = await createApiKey(pool, { role: 'user', userId: user.id, name: 'demo user' });
      process.stdout.write(`Web pages: ${apiUrl}/app (sign in with the user key ${userKey.key}) and ${apiUrl}/console (the operator key)\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
  } catch (error) {
    process.stderr.write(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    if (appLog) process.stderr.write(`\nlast output of coffer start:\n${appLog.slice(-4_000)}\n`);
    ok = false;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
  process.stdout.write(ok ? '\ndemo: every step succeeded\n' : '\ndemo: FAILED\n');
  return ok ? 0 : 1;
}

const connectTimeoutMs = 5_000;

async function postgresProblem(databaseUrl: string): Promise<string | null> {
  const { maintenanceUrl } = splitDatabaseUrl(databaseUrl);
  const client = new pg.Client({ connectionString: maintenanceUrl, connectionTimeoutMillis: connectTimeoutMs });
  const where = new URL(databaseUrl);
  try {
    await client.connect();
    return null;
  } catch (error) {
    return `cannot reach PostgreSQL at ${where.hostname}:${where.port || '5432'}: ${describeConnectionError(error)} — start it (Debian/Ubuntu: sudo systemctl start postgresql) or set DATABASE_URL`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function redisProblem(url: string): Promise<string | null> {
  const redis = openRedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: connectTimeoutMs });
  // The cause arrives as an 'error' event; without a listener ioredis would print it itself.
  let cause: unknown = null;
  redis.on('error', (error) => (cause ??= error));
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (error) {
    return `cannot reach Redis at ${redisAddress(url)}: ${describeConnectionError(cause ?? error)} — start it (Debian/Ubuntu: sudo systemctl start redis-server) or set REDIS_URL`;
  } finally {
    redis.disconnect();
  }
}

/**
 * `coffer demo clean`: drops the databases interactive demos left (coffer_demo_*) and their Redis
 * keys (coffer-demo-<stamp>:*). A database still in use belongs to a running demo: it is kept,
 * and so are its keys.
 */
async function clean(databaseUrl: string, redisUrl: string): Promise<number> {
  const problem = (await postgresProblem(databaseUrl)) ?? (await redisProblem(redisUrl));
  if (problem) {
    process.stderr.write(`coffer demo clean: ${problem}\n`);
    return 1;
  }
  const running = new Set<string>();
  let removed = 0;
  const admin = new pg.Client({ connectionString: splitDatabaseUrl(databaseUrl).maintenanceUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'coffer\\_demo\\_%' ORDER BY datname`);
    for (const { datname } of rows) {
      try {
        await admin.query(`DROP DATABASE ${quoteIdentifier(datname)}`);
        process.stdout.write(`dropped database ${datname}\n`);
        removed += 1;
      } catch (error) {
        if (!(error instanceof Error && 'code' in error && error.code === '55006')) throw error;
        running.add(datname.slice('coffer_demo_'.length));
        process.stdout.write(`kept database ${datname}: in use (a demo is running)\n`);
      }
    }
  } finally {
    await admin.end();
  }
  const redis = openRedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  await redis.connect();
  try {
    const byPrefix = new Map<string, string[]>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'coffer-demo-*', 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const prefix = key.slice(0, key.indexOf(':') + 1);
        if (prefix && !running.has(prefix.slice('coffer-demo-'.length, -1))) byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), key]);
      }
    } while (cursor !== '0');
    for (const [prefix, keys] of byPrefix) {
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
      process.stdout.write(`deleted ${keys.length} Redis keys under ${prefix}\n`);
      removed += 1;
    }
  } finally {
    redis.disconnect();
  }
  if (removed === 0) process.stdout.write('nothing to clean: no demo database or Redis keys left\n');
  return 0;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, context: () => string): Promise<T> {
  const deadline = Date.now() + stepTimeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context().slice(-3_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

