// `coffer bench workers`: credit throughput with 1 worker process and with 3, in the same run.
// Each process is a real `coffer start --workers` child (outbox dispatcher + BullMQ workers, as
// docker-compose.yml scales them) on one PostgreSQL, one Redis and the local Hermes replay
// server. A burst of confirmed deposits is committed with their credit jobs in one transaction
// (as the indexer does); the clock runs from that commit to the last credit's commit.
//
//   workers_1   one process, WORKER_CONCURRENCY jobs at a time
//   workers_3   three processes, three times the concurrency
//
// The cases alternate (1, 3, 1, 3 in a full run) so drift on a shared machine hits both.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { BenchContext, BenchResult } from '../bench/index.ts';
import { startHermesReplay } from '../devnets/index.ts';
import { loadConfig } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { createUser } from '../users/index.ts';
import { startCofferProcess, type CofferProcess } from '../testing/coffer-process.ts';
import { confirmDeposits, waitForCredits } from './pipeline.bench.ts';
import { bullPrefix } from './system.ts';
import { prefixOf, redisConnection } from './queues.ts';

const processCounts = [1, 3] as const;
const workersReadyTimeoutMs = 60_000;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function workersBench({ pool, url, quick, progress }: BenchContext): Promise<BenchResult> {
  const config = loadConfig();
  const burstCount = quick ? 400 : 1_500;
  const rounds = quick ? 1 : 2;
  const hermes = await startHermesReplay();
  const writer = new LedgerWriter({ pool });
  const dir = await mkdtemp(join(tmpdir(), 'coffer-bench-workers-'));
  const prefix = `${config.REDIS_KEY_PREFIX}bench-workers-${randomBytes(3).toString('hex')}:`;
  const credits = new Queue('credits', { connection: redisConnection(config.REDIS_URL), prefix: prefixOf(bullPrefix({ REDIS_KEY_PREFIX: prefix, REDIS_CLUSTER_NODES: undefined }), 'credits') });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: url,
    REDIS_URL: config.REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    HERMES_URL: hermes.url,
    COFFER_KEYSTORE_DIR: join(dir, 'keys'),
    COFFER_KEYSTORE_PASSPHRASE: 'bench-workers-passphrase',
    WEBHOOK_ROOT_FILE: join(dir, 'webhook-root'),
    OUTBOX_POLL_INTERVAL_MS: '200',
    LOG_LEVEL: 'warn',
  };
  const users: string[] = [];
  for (let i = 0; i < 50; i += 1) users.push((await createUser(pool, { nearAccountId: `bench-${randomBytes(4).toString('hex')}.testnet` })).id);
  const seconds: Record<number, number> = { 1: 0, 3: 0 };
  const deposits: Record<number, number> = { 1: 0, 3: 0 };
  let running: CofferProcess[] = [];
  try {
    for (let round = 1; round <= rounds; round += 1) {
      for (const processes of processCounts) {
        progress(`round ${round}: ${processes} worker process(es), ${burstCount} deposits`);
        running = Array.from({ length: processes }, () => startCofferProcess(['start', '--workers'], env));
        const output = () => running.map((child) => child.output().slice(-2_000)).join('\n---\n');
        // Every process connected before the clock starts, then one small batch to warm them up.
        await waitFor(`${processes} workers on the credits queue`, async () => (await credits.getWorkersCount()) === processes, workersReadyTimeoutMs, output);
        await waitForCredits(pool, await confirmDeposits(writer, users, 10 * processes, true), 60_000);
        const started = performance.now();
        const ids = await confirmDeposits(writer, users, burstCount, true);
        await waitForCredits(pool, ids, 300_000);
        seconds[processes]! += (performance.now() - started) / 1000;
        deposits[processes]! += burstCount;
        for (const child of running) await child.stop('SIGTERM');
        running = [];
      }
    }
    const perSecond = (processes: number) => Math.round(deposits[processes]! / seconds[processes]!);
    const metric = (processes: number) => ({ processes, concurrency: processes * config.WORKER_CONCURRENCY, deposits: deposits[processes]!, seconds: Math.round(seconds[processes]! * 100) / 100, per_second: perSecond(processes) });
    return {
      bench: 'workers',
      metrics: { workers_1: metric(1), workers_3: metric(3) },
      ratios: { three_vs_one: Math.round((perSecond(3) / perSecond(1)) * 100) / 100 },
      notes: [
        `credit throughput from the burst's commit to its last credit; ${rounds} round(s) of ${burstCount} deposits per case, alternating`,
        'every process runs the outbox dispatcher and a BullMQ worker per queue; every credit asks the local Hermes replay server for its price and appends through the ledger writer lock',
        `this machine has ${navigator.hardwareConcurrency} cores shared with PostgreSQL, Redis and Hermes: the ratio shows how far more processes help here, not on a larger host`,
      ],
    };
  } finally {
    for (const child of running) await child.stop('SIGKILL');
    await credits.obliterate({ force: true }).catch(() => undefined);
    await credits.close();
    await writer.close();
    await hermes.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
