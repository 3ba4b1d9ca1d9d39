// `coffer start`: the long-running process. Stops cleanly on SIGINT/SIGTERM: the HTTP server
// stops taking requests, the writer commits what is queued, followers finish their chunk.
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startApiServer } from '../../api/index.ts';
import { ensureEmulatorRoots, Keystore, resolveRootKeys } from '../../signer/index.ts';
import type { DerivationSettings } from '../../users/index.ts';
import { createLogger, createPool, ensureDatabase, loadConfig, type Config, type Logger } from '../../infra/index.ts';
import { LedgerWriter, ProjectionFollower } from '../../ledger/index.ts';
import { migrate } from '../../migrations/index.ts';
import { indexerNames, requireRpcUrl, superviseIndexer } from '../../indexers/index.ts';
import { parse, UsageError } from './index.ts';

export async function start(args: string[]): Promise<number> {
  const { values } = parse(args, { api: { type: 'boolean' }, projections: { type: 'boolean' }, indexers: { type: 'string' }, port: { type: 'string' } });
  const config = loadConfig(values.port ? { ...process.env, PORT: values.port } : process.env);
  const everything = !values.api && !values.projections && values.indexers === undefined;
  const indexers = values.indexers !== undefined ? values.indexers.split(',').map((name) => name.trim()).filter(Boolean) : everything && config.EVM_RPC_URL ? ['evm'] : [];
  for (const name of indexers) {
    if (!(indexerNames as readonly string[]).includes(name)) throw new UsageError(`unknown indexer "${name}" (indexers: ${indexerNames.join(', ')})`);
    if (name === 'evm') requireRpcUrl(config);
  }
  const logger = createLogger({ level: config.LOG_LEVEL, base: { service: 'coffer' } });
  await ensureDatabase(config.DATABASE_URL);
  await migrate({ connectionString: config.DATABASE_URL, onApplied: (m) => logger.info('migration applied', { version: m.version, name: m.name }) });
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 20 });
  const derivation = await derivationSettings(config, logger);
  const writer = new LedgerWriter({ pool, batchSizeMax: config.LEDGER_BATCH_SIZE_MAX, queueLengthMax: config.LEDGER_QUEUE_LENGTH_MAX, logger });
  const stops: (() => Promise<void>)[] = [];

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
  if (everything || values.api) {
    const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
    redis.on('error', (error) => logger.warn('redis connection problem', { error }));
    await redis.connect().catch((error: unknown) => logger.warn('redis is not reachable; rate limits are off until it is', { error }));
    const { server, port } = await startApiServer(
      { pool, writer, logger, redis, redisKeyPrefix: config.REDIS_KEY_PREFIX, rateLimitPerMinute: config.API_RATE_LIMIT_PER_MINUTE, derivation },
      { port: config.PORT },
    );
    stops.unshift(() => new Promise<void>((resolve) => server.close(() => resolve())));
    stops.push(() => Promise.resolve(redis.disconnect()));
    logger.info('API listening', { url: `http://127.0.0.1:${port}`, docs: `http://127.0.0.1:${port}/docs` });
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
 * The root keys deposit addresses derive from. With the emulator (the development default) its
 * roots are created in the keystore on first start; if no passphrase is configured, one is
 * generated into a file beside the keystore (mode 0600, git-ignored) so a fresh machine needs
 * no set-up. Production sets COFFER_KEYSTORE_PASSPHRASE(_FILE) and SIGNER_BACKEND=chain-signatures.
 */
async function derivationSettings(config: Config, logger: Logger): Promise<DerivationSettings> {
  if (config.SIGNER_BACKEND === 'emulator') {
    let passphrase = process.env.COFFER_KEYSTORE_PASSPHRASE;
    if (!passphrase && process.env.COFFER_KEYSTORE_PASSPHRASE_FILE) passphrase = (await readFile(process.env.COFFER_KEYSTORE_PASSPHRASE_FILE, 'utf8')).trimEnd();
    if (!passphrase) {
      const file = join(dirname(config.COFFER_KEYSTORE_DIR), 'dev-keystore-passphrase');
      passphrase = await readFile(file, 'utf8').then((text) => text.trimEnd(), async () => {
        const generated = randomBytes(24).toString('base64url');
        await mkdir(dirname(file), { recursive: true, mode: 0o700 });
        await writeFile(file, generated + '\n', { mode: 0o600, flag: 'wx' });
        return generated;
      });
      logger.warn('using a development keystore passphrase from a local file; set COFFER_KEYSTORE_PASSPHRASE in production', { file });
    }
    await ensureEmulatorRoots(new Keystore({ directory: config.COFFER_KEYSTORE_DIR, passphrase }));
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
