// The job system assembled from configuration: queues, the outbox dispatcher and the workers,
// as `coffer start --workers` runs them (and the demo and tests, with their own settings).
import { UnrecoverableError, type Queue } from 'bullmq';
import { redisOutageLog, type Config, type Logger, type Pool } from '../infra/index.ts';
import type { LedgerWriter } from '../ledger/index.ts';
import type { Keystore, Signer } from '../signer/index.ts';
import { relayServices } from './relay/index.ts';
import { loadWebhookRoot, type GasEstimator } from '../wallets/index.ts';
import type { CreditSettings } from './credits.ts';
import { OutboxDispatcher } from './dispatcher.ts';
import { PriceSource } from './prices.ts';
import { closeQueues, openQueues, type QueueName } from './queues.ts';
import { chainAdapter, evmChain, evmGasEstimator } from '../chains/index.ts';
import type { SweepChain } from './sweeps.ts';
import { parseAssetPricing, parseChainMinimums, parseDecimal } from './valuation.ts';
import { redisConnection, startWorkers, type RunningWorkers } from './workers.ts';

/** BullMQ's key prefix under the configured Redis prefix, so the board and the workers agree. */
export const bullPrefix = (config: Pick<Config, 'REDIS_KEY_PREFIX'>) => `${config.REDIS_KEY_PREFIX}bull`;

export function creditSettings(config: Config): CreditSettings {
  return {
    pricing: parseAssetPricing(config.CREDIT_ASSET_PRICING),
    minimumsUsd: parseChainMinimums(config.CREDIT_MINIMUM_USD),
    chocoPerUsd: parseDecimal(config.CHOCO_PER_USD, 'CHOCO_PER_USD'),
    sweepChains: new Set(sweepChains(config).keys()),
  };
}

/** The chains whose deposits are swept: those with a node and a treasury configured. */
export function sweepChains(config: Config): ReadonlyMap<string, SweepChain> {
  const chains = new Map<string, SweepChain>();
  if (config.EVM_RPC_URL && config.EVM_TREASURY_ADDRESS) {
    chains.set(evmChain, { adapter: chainAdapter(evmChain), rpcUrl: config.EVM_RPC_URL, treasury: config.EVM_TREASURY_ADDRESS, confirmations: config.SWEEP_CONFIRMATIONS });
  }
  return chains;
}

export function openConfiguredQueues(config: Config): Record<QueueName, Queue> {
  return openQueues({ connection: redisConnection(config.REDIS_URL), prefix: bullPrefix(config), attempts: config.JOB_ATTEMPTS, backoffMs: config.JOB_BACKOFF_MS });
}

/** Without an EVM node a spend cannot be judged (its cost is unknown): the decision fails closed at once. */
const noChain: GasEstimator = () => Promise.reject(new UnrecoverableError('no EVM chain is configured (EVM_RPC_URL), so spends cannot be decided'));

export interface JobSystem {
  queues: Record<QueueName, Queue>;
  dispatcher: OutboxDispatcher;
  workers: RunningWorkers;
  stop(): Promise<void>;
}

/**
 * `keystore` opens operational keys (relayers, the treasury hot wallet); without it, or without
 * an EVM node, the relay monitor and refill passes do not run.
 */
export async function startJobSystem(options: { config: Config; pool: Pool; writer: LedgerWriter; signer: Signer; logger: Logger; keystore?: Keystore }): Promise<JobSystem> {
  const { config, pool, writer, signer, logger } = options;
  const webhookRoot = await loadWebhookRoot(config.WEBHOOK_ROOT_FILE);
  const relay = options.keystore ? relayServices({ config, pool, writer, logger, keystore: options.keystore, webhookRoot }) : null;
  const settings = creditSettings(config);
  const queues = openConfiguredQueues(config);
  const prices = new PriceSource({ db: pool, hermesUrl: config.HERMES_URL, limits: { maxAgeSeconds: config.PRICE_MAX_AGE_SECONDS, maxConfBps: config.PRICE_MAX_CONF_BPS } });
  const workers = startWorkers({
    pool,
    logger,
    connection: redisConnection(config.REDIS_URL),
    prefix: bullPrefix(config),
    concurrency: config.WORKER_CONCURRENCY,
    lockMs: config.JOB_LOCK_MS,
    redisOutage: redisOutageLog({ url: config.REDIS_URL, logger, consequence: 'jobs wait until it is back' }),
    credits: { pool, writer, prices, settings },
    sweeps: { pool, writer, signer, chains: sweepChains(config), logger },
    wallets: {
      spends: { pool, writer, logger, estimateGas: config.EVM_RPC_URL ? evmGasEstimator(config.EVM_RPC_URL) : noChain },
      execute: config.EVM_RPC_URL ? { pool, writer, logger, signer, rpcUrl: config.EVM_RPC_URL, confirmations: config.SPEND_CONFIRMATIONS } : null,
      webhooks: { pool, logger, root: webhookRoot },
    },
    ...(relay ? { relay } : {}),
  });
  if (relay) {
    // One scheduler per job across all workers processes (upsert by id): a pass every interval.
    const repeat = { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } };
    await queues.relays.upsertJobScheduler('relay-monitor', { every: config.RELAYER_POLL_INTERVAL_MS }, { name: 'relay-monitor', data: {}, opts: repeat });
    await queues.relays.upsertJobScheduler('refill-pass', { every: config.REFILL_INTERVAL_SECONDS * 1000 }, { name: 'refill-pass', data: {}, opts: repeat });
  }
  const dispatcher = new OutboxDispatcher({ pool, queues, logger, pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS, reofferAfterMs: config.OUTBOX_REOFFER_AFTER_MS });
  await dispatcher.start();
  return {
    queues,
    dispatcher,
    workers,
    async stop() {
      await dispatcher.stop();
      await workers.close();
      await closeQueues(queues);
    },
  };
}
