// `coffer start`: the long-running process. With no flag it runs everything configured: the API
// and projection followers here, each indexer and the workers in supervised child processes.
// `--workers` is that child: the outbox dispatcher and the BullMQ workers. Stops cleanly on
// SIGINT/SIGTERM: the HTTP server stops taking requests, the writer commits what is queued,
// followers finish their chunk, workers finish or hand back their jobs.
import { startApiServer } from '../../api/index.ts';
import { ChainSignaturesEmulator, ChainSignaturesSigner, EmulatorSigner, ensureEmulatorRoots, Keystore, keystoreSigner, nearKeyName, resolveRootKeys, SignerError, storedNearPublicKey, type Signer } from '../../signer/index.ts';
import { mpcRootKeys, nearKeystoreSignCall } from '../../chains/index.ts';
import type { DerivationSettings } from '../../users/index.ts';
import { createLogger, createPool, ensureDatabase, loadConfig, openRedis, redisOutageLog, redisTarget, signerTlsMaterial, superviseCoffer, type Config, type Logger, type Pool } from '../../infra/index.ts';
import { closeQueues, openConfiguredQueues, startJobSystem } from '../../jobs/index.ts';
import { nearSignCostBooks, nearSigningFunding } from '../../sweeps/index.ts';
import { relayServices } from '../../relayer/index.ts';
import { sponsorService } from '../../sponsor/index.ts';
import { developmentPassphrase, operationalKeystore } from './keystore.ts';
import { webhookRootFile } from '../../wallets/index.ts';
import { KeyMaterial } from '../../remote-signer/index.ts';
import { LedgerWriter, ProjectionFollower } from '../../ledger/index.ts';
import { migrate } from '../../migrations/index.ts';
import { findIndexer, indexerNames, indexerRegistry, superviseIndexer } from '../../indexers/index.ts';
import { parse, UsageError } from './index.ts';

export async function start(args: string[]): Promise<number> {
  const { values } = parse(args, {
    api: { type: 'boolean' },
    projections: { type: 'boolean' },
    workers: { type: 'boolean' },
    indexers: { type: 'string' },
    port: { type: 'string' },
  });
  const config = loadConfig(values.port ? { ...process.env, PORT: values.port } : process.env);
  const everything = !values.api && !values.projections && !values.workers && values.indexers === undefined;
  // With SIGNER_TLS_* the remote signer listens on its own port over mutual TLS; bad material stops the start before anything runs.
  const signerTls = everything || values.api ? signerTlsMaterial(config) : null;
  const configured = indexerRegistry.filter((indexer) => config[indexer.needs] !== undefined).map((indexer) => indexer.name);
  const indexers = values.indexers !== undefined ? values.indexers.split(',').map((name) => name.trim()).filter(Boolean) : everything ? configured : [];
  for (const name of indexers) {
    const indexer = findIndexer(name);
    if (!indexer || indexer.name !== name) throw new UsageError(`unknown indexer "${name}" (indexers: ${indexerNames.join(', ')})`);
    if (config[indexer.needs] === undefined) throw new UsageError(`the ${name} indexer needs ${indexer.needs}`);
  }
  const logger = createLogger({ level: config.LOG_LEVEL, base: { service: values.workers && !everything ? 'coffer-workers' : 'coffer' } });
  if (everything || values.indexers !== undefined) {
    for (const indexer of indexerRegistry.filter((i) => !indexers.includes(i.name))) {
      const reason = values.indexers !== undefined ? 'not named in --indexers' : `${indexer.needs} is not set`;
      logger.info(`indexer ${indexer.name}: off — ${reason}`, { indexer: indexer.name });
    }
  }
  await ensureDatabase(config.DATABASE_URL);
  await migrate({ connectionString: config.DATABASE_URL, onApplied: (m) => logger.info('migration applied', { version: m.version, name: m.name }) });
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 20, applicationName: values.workers ? 'coffer-workers' : 'coffer' });
  const writer = new LedgerWriter({ pool, batchSizeMax: config.LEDGER_BATCH_SIZE_MAX, queueLengthMax: config.LEDGER_QUEUE_LENGTH_MAX, logger });
  const stops: (() => Promise<void>)[] = [];
  // Before the workers start: the emulator's roots are created here once, never by two processes at a time.
  const derivation = everything || values.api ? await derivationSettings(config, logger) : null;

  if (everything || values.projections) {
    const follower = new ProjectionFollower({ pool, pollIntervalMs: config.PROJECTIONS_POLL_INTERVAL_MS, logger });
    await follower.start();
    stops.push(() => follower.stop());
    logger.info('projection followers running');
  }
  for (const indexer of indexers) {
    const supervised = superviseIndexer({ indexer, pool, logger });
    stops.unshift(() => supervised.stop());
  }
  if (values.workers) {
    // This process is the workers: the outbox dispatcher and a BullMQ worker per queue.
    const jobs = await startJobSystem({ config, pool, writer, signer: await openSigner(config, logger, { pool, writer }), logger, ...(await operationalKeystore(config, logger)) });
    stops.unshift(() => jobs.stop());
    logger.info('workers running', { hermes: config.HERMES_URL, sweeps: config.EVM_TREASURY_ADDRESS ? 'on' : 'off (no EVM_TREASURY_ADDRESS)' });
  } else if (everything) {
    // Workers live in their own process, restarted if they crash, so a job can never take the API down.
    const workers = superviseCoffer({ name: 'workers', args: ['start', '--workers'], logger });
    stops.unshift(() => workers.stop());
  }
  if (derivation) {
    const redis = openRedis(redisTarget(config), { lazyConnect: true, maxRetriesPerRequest: 2 });
    const redisOutage = redisOutageLog({ target: redisTarget(config), logger, consequence: 'rate limits are off until it is back' });
    redis.on('error', (error) => redisOutage.failed(error));
    redis.on('ready', () => redisOutage.recovered());
    await redis.connect().catch((error: unknown) => redisOutage.failed(error));
    const queues = openConfiguredQueues(config);
    const webhookRoots = webhookRootFile(config.WEBHOOK_ROOT_FILE);
    const { keystore } = await operationalKeystore(config, logger);
    const relay = keystore ? relayServices({ config, pool, writer, logger, keystore, webhookRoots }) : null;
    // Ledger reads (auditors) go to the replica when there is one; every write stays on `pool`.
    const readPool = config.DATABASE_READ_URL ? createPool({ connectionString: config.DATABASE_READ_URL, max: 10, applicationName: 'coffer-reads' }) : undefined;
    if (readPool) stops.push(() => readPool.end());
    // The remote signer signs with keystore keys and MPC-derived keys; a key whose material is not here refuses.
    const remoteSigner = {
      ctx: { pool, logger, material: new KeyMaterial({ keystore, signer: await openSigner(config, logger, { pool, writer }) }) },
      authHeader: config.SIGNER_AUTH_HEADER,
      ...(signerTls ? { tls: signerTls } : {}),
    };
    const alerts = relay?.refills.alerts;
    const sponsor = keystore
      ? await sponsorService({
          config, pool, logger, keystore,
          ...(alerts ? { onThrottled: async (sender, count) => void (await alerts.raise('sponsor.sender_throttled', { subject: `${sender}:${new Date().toISOString().slice(0, 10)}`, detail: { sender, expiredUnincluded: count } })) } : {}),
        })
      : null;
    const { server, address, port, signerTls: signerServer } = await startApiServer(
      {
        pool,
        ...(readPool ? { readPool } : {}),
        writer,
        logger,
        redis,
        redisKeyPrefix: config.REDIS_KEY_PREFIX,
        redisHealth: redisOutage,
        rateLimitPerMinute: config.API_RATE_LIMIT_PER_MINUTE,
        derivation,
        wallets: {
          keys: { nearNetwork: derivation.nearNetwork, secp256k1Root: derivation.roots.secp256k1, predecessor: config.COFFER_NEAR_ACCOUNT },
          webhookRoot: webhookRoots,
        },
        queues: Object.values(queues),
        remoteSigner,
        ...(relay ? { relay } : {}),
        ...(sponsor ? { sponsor } : {}),
        ...(config.NEAR_RPC_URL && keystore ? { near: { rpcUrl: config.NEAR_RPC_URL, keystore } } : {}),
      },
      { port: config.PORT, hostname: config.API_HOST },
    );
    stops.unshift(() => new Promise<void>((resolve) => server.close(() => resolve())));
    if (signerServer) stops.unshift(() => new Promise<void>((resolve) => signerServer.server.close(() => resolve())));
    stops.push(() => closeQueues(queues));
    stops.push(() => Promise.resolve(redis.disconnect()));
    const origin = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    logger.info('API listening', { url: origin, docs: `${origin}/docs`, queues: `${origin}/admin/queues` });
    if (signerServer) logger.info('remote signer listening with mutual TLS', { url: `https://${address.includes(':') ? `[${address}]` : address}:${signerServer.port}/signer` });
  }

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info('stopping', { signal });
      resolve();
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  for (const stop of stops) await stop();
  await writer.close();
  await pool.end();
  return 0;
}

/**
 * The root keys deposit addresses derive from: the emulator's (created in the keystore on first
 * start) or the published MPC roots (SIGNER_BACKEND=chain-signatures).
 */
export async function derivationSettings(config: Config, logger: Logger): Promise<DerivationSettings> {
  if (config.SIGNER_BACKEND === 'emulator') {
    await ensureEmulatorRoots(new Keystore({ directory: config.COFFER_KEYSTORE_DIR, passphrase: await developmentPassphrase(config, logger) }));
  }
  const roots = await resolveRootKeys({
    backend: config.SIGNER_BACKEND,
    nearNetwork: config.NEAR_NETWORK,
    keystoreDirectory: config.COFFER_KEYSTORE_DIR,
    overrides: {
      ...(config.MPC_ROOT_SECP256K1 ? { secp256k1: config.MPC_ROOT_SECP256K1 } : {}),
      ...(config.MPC_ROOT_ED25519 ? { ed25519: config.MPC_ROOT_ED25519 } : {}),
    },
  });
  logger.info('signer roots', { backend: config.SIGNER_BACKEND, nearNetwork: config.NEAR_NETWORK, bitcoinNetwork: config.BITCOIN_NETWORK });
  return { nearNetwork: config.NEAR_NETWORK, bitcoinNetwork: config.BITCOIN_NETWORK, roots };
}

/** The signer sweeps use. Fail-closed: a backend coffer cannot reach refuses every signature. */
/** `books`: where the gas of each NEAR `sign` call is booked (the workers' ledger). */
async function openSigner(config: Config, logger: Logger, books: { pool: Pool; writer: LedgerWriter }): Promise<Signer> {
  if (config.SIGNER_BACKEND === 'emulator') {
    return new EmulatorSigner(await ChainSignaturesEmulator.open(new Keystore({ directory: config.COFFER_KEYSTORE_DIR, passphrase: await developmentPassphrase(config, logger) })));
  }
  const contractId = config.NEAR_SIGNER_CONTRACT ?? (config.NEAR_NETWORK === 'mainnet' ? 'v1.signer' : 'v1.signer-prod.testnet');
  const { keystore } = await operationalKeystore(config, logger);
  if (config.NEAR_RPC_URL && keystore) {
    // Each predecessor calls the contract with its own imported key; the roots are the contract's unless overridden.
    const overridden = config.MPC_ROOT_SECP256K1 !== undefined || config.MPC_ROOT_ED25519 !== undefined;
    const roots = overridden ? (await derivationSettings(config, logger)).roots : await mpcRootKeys(config.NEAR_RPC_URL, contractId);
    const call = nearKeystoreSignCall({ rpcUrl: config.NEAR_RPC_URL, publicKeyOf: (account) => storedNearPublicKey(config.COFFER_KEYSTORE_DIR, account), keyName: nearKeyName, sign: keystoreSigner(keystore), onCost: nearSignCostBooks({ ...books, logger, signingFunding: nearSigningFunding(config) }) });
    logger.info('chain-signatures signer', { contractId, nearRpcUrl: config.NEAR_RPC_URL });
    return new ChainSignaturesSigner({ contractId, roots, call });
  }
  const roots = (await derivationSettings(config, logger)).roots;
  const reason = `SIGNER_BACKEND=chain-signatures calls the MPC contract over NEAR_RPC_URL with keystore keys: ${config.NEAR_RPC_URL ? 'set COFFER_KEYSTORE_PASSPHRASE' : 'set NEAR_RPC_URL'}`;
  logger.warn('sweeps will fail closed', { reason });
  return new ChainSignaturesSigner({ contractId, roots, call: () => Promise.reject(new SignerError('signer_unavailable', reason)) });
}
