// What a SIGKILL test of `coffer` child processes needs besides its chain: a keystore directory
// and a Redis key prefix of its own, the environment that makes recovery fast enough to watch
// within a test, counts read from the database the children write, and the cleanup.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cofferProcesses, type CofferProcesses } from './coffer-process.ts';
import type { TestDatabase } from './database.ts';
import { deleteRedisKeysWithPrefix } from './redis.ts';

const redisUrl = 'redis://127.0.0.1:6379';

export interface SigkillBed {
  keystoreDir: string;
  passphrase: string;
  /** Starts and kills `coffer` children with this database, Redis prefix and keystore, plus `chainEnv`. */
  processes(chainEnv: NodeJS.ProcessEnv): CofferProcesses;
  /** The `n` of a `SELECT count(*) AS n …`. */
  count(query: string, params?: unknown[]): Promise<number>;
  /** Journal entries of `kind` whose metadata names one of `users`. */
  entries(kind: string, users: string[]): Promise<number>;
  /** Kills every child started and removes the keystore and the Redis keys; the database is the caller's to drop. */
  cleanup(): Promise<void>;
}

export async function createSigkillBed(options: { name: string; db: TestDatabase; passphrase: string }): Promise<SigkillBed> {
  const { db, passphrase } = options;
  const keystoreDir = await mkdtemp(join(tmpdir(), `coffer-${options.name}-`));
  const redisPrefix = `coffer-test-${options.name}-${process.pid}-${randomBytes(2).toString('hex')}:`;
  const started: CofferProcesses[] = [];
  const count = async (query: string, params: unknown[] = []) => {
    const { rows } = await db.pool.query<{ n: bigint }>(query, params);
    return Number(rows[0]?.n ?? 0n);
  };
  return {
    keystoreDir,
    passphrase,
    processes(chainEnv) {
      const processes = cofferProcesses({
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: redisPrefix,
        COFFER_KEYSTORE_DIR: keystoreDir,
        COFFER_KEYSTORE_PASSPHRASE: passphrase,
        JOB_BACKOFF_MS: '200',
        // A killed worker's job is taken over after this long.
        JOB_LOCK_MS: '3000',
        OUTBOX_POLL_INTERVAL_MS: '100',
        OUTBOX_REOFFER_AFTER_MS: '2000',
        LOG_LEVEL: 'warn',
        ...chainEnv,
      });
      started.push(processes);
      return processes;
    },
    count,
    entries: (kind, users) => count("SELECT count(*) AS n FROM journal_entries WHERE kind = $1 AND metadata->>'userId' = ANY($2)", [kind, users]),
    async cleanup() {
      for (const processes of started) await processes.killAll();
      await rm(keystoreDir, { recursive: true, force: true });
      await deleteRedisKeysWithPrefix(redisUrl, redisPrefix);
    },
  };
}
