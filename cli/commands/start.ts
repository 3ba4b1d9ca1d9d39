// `coffer start`: the long-running process. Stops cleanly on SIGINT/SIGTERM: the HTTP server
// stops taking requests, the writer commits what is queued, followers finish their chunk.
import { Redis } from 'ioredis';
import { startApiServer } from '../../api/index.ts';
import { createLogger, createPool, ensureDatabase, loadConfig } from '../../infra/index.ts';
import { LedgerWriter, ProjectionFollower } from '../../ledger/index.ts';
import { migrate } from '../../migrations/index.ts';
import { parse } from './index.ts';

export async function start(args: string[]): Promise<number> {
  const { values } = parse(args, { api: { type: 'boolean' }, projections: { type: 'boolean' }, port: { type: 'string' } });
  const config = loadConfig(values.port ? { ...process.env, PORT: values.port } : process.env);
  const everything = !values.api && !values.projections;
  const logger = createLogger({ level: config.LOG_LEVEL, base: { service: 'coffer' } });
  await ensureDatabase(config.DATABASE_URL);
  await migrate({ connectionString: config.DATABASE_URL, onApplied: (m) => logger.info('migration applied', { version: m.version, name: m.name }) });
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 20 });
  const writer = new LedgerWriter({ pool, batchSizeMax: config.LEDGER_BATCH_SIZE_MAX, queueLengthMax: config.LEDGER_QUEUE_LENGTH_MAX, logger });
  const stops: (() => Promise<void>)[] = [];

  if (everything || values.projections) {
    const follower = new ProjectionFollower({ pool, pollIntervalMs: config.PROJECTIONS_POLL_INTERVAL_MS, logger });
    await follower.start();
    stops.push(() => follower.stop());
    logger.info('projection followers running');
  }
  if (everything || values.api) {
    const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
    redis.on('error', (error) => logger.warn('redis connection problem', { error }));
    await redis.connect().catch((error: unknown) => logger.warn('redis is not reachable; rate limits are off until it is', { error }));
    const { server, port } = await startApiServer(
      { pool, writer, logger, redis, redisKeyPrefix: config.REDIS_KEY_PREFIX, rateLimitPerMinute: config.API_RATE_LIMIT_PER_MINUTE },
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
