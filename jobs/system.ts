// The job system assembled from configuration: queues, the outbox dispatcher and the workers,
// as `coffer start --workers` runs them (and the demo and tests, with their own settings).
import { UnrecoverableError, type Queue } from 'bullmq';
import { redisOutageLog, redisTarget, type Config, type Logger, type Pool } from '../infra/index.ts';
import { chart, type LedgerWriter } from '../ledger/index.ts';
import { keystoreSigner, storedNearPublicKey, type Keystore, type Signer } from '../signer/index.ts';
import { relayServices } from '../relayer/index.ts';
import { paymasterSignerRotation } from '../sponsor/index.ts';
import { webhookRootFile, type GasEstimator } from '../wallets/index.ts';
import { OutboxDispatcher } from './dispatcher.ts';
import { closeQueues, openQueues, redisConnection, type BullPrefix, type QueueName } from './queues.ts';
import { bitcoinAdapter, chainAdapter, evmChain, evmGasEstimator, keystoreFeePayer, satVbToSatKvb } from '../chains/index.ts';
import { nearSigningFunding, nearTokenContracts, type ConsolidationChain, type NearOperationsContext, type SweepChain } from '../sweeps/index.ts';
import { parseAssetPricing, parseChainMinimums, parseDecimal, parseNativeMinimums, PriceSource, type CreditSettings } from '../credits/index.ts';
import { startWorkers, type RunningWorkers } from './workers.ts';

/**
 * BullMQ's key prefix under the configured Redis prefix, so the board and the workers agree. On a
 * Redis Cluster each queue's prefix is its own hash tag (see BullPrefix).
 */
export function bullPrefix(config: Pick<Config, 'REDIS_KEY_PREFIX' | 'REDIS_CLUSTER_NODES'>): BullPrefix {
  const prefix = `${config.REDIS_KEY_PREFIX}bull`;
  return config.REDIS_CLUSTER_NODES ? (queue: QueueName) => `{${prefix}:${queue}}` : prefix;
}

export function creditSettings(config: Config): CreditSettings {
  return {
    pricing: parseAssetPricing(config.CREDIT_ASSET_PRICING),
    minimumsUsd: parseChainMinimums(config.CREDIT_MINIMUM_USD),
    minimumsNative: parseNativeMinimums(config.CREDIT_MINIMUM_NATIVE),
    chocoPerUsd: parseDecimal(config.CHOCO_PER_USD, 'CHOCO_PER_USD'),
    sweepChains: new Set(sweepChains(config).keys()),
  };
}

/** The chains whose deposits are swept: those with a node and a treasury configured. `keystore` opens fee payers. */
export function sweepChains(config: Config, keystore?: Keystore): ReadonlyMap<string, SweepChain> {
  const chains = new Map<string, SweepChain>();
  if (config.EVM_RPC_URL && config.EVM_TREASURY_ADDRESS) {
    chains.set(evmChain, { adapter: chainAdapter(evmChain), rpcUrl: config.EVM_RPC_URL, treasury: config.EVM_TREASURY_ADDRESS, confirmations: config.SWEEP_CONFIRMATIONS });
  }
  if (config.SOLANA_RPC_URL && config.SOLANA_TREASURY_ADDRESS) {
    // The fee payer pays fees and rent, so they are booked against its account; final is `finalized` (1 confirmation as the adapter counts).
    const feePayer = keystoreFeePayer(keystore, config.SOLANA_FEE_PAYER_KEY);
    chains.set('solana', {
      adapter: chainAdapter('solana', { solanaFeePayer: feePayer }),
      rpcUrl: config.SOLANA_RPC_URL,
      treasury: config.SOLANA_TREASURY_ADDRESS,
      confirmations: 1,
      feeAccount: chart.operations('solana', 'fee-payer'),
      operational: feePayer.sign,
    });
  }
  if (config.NEAR_RPC_URL && config.NEAR_TREASURY_ACCOUNT) {
    const near = { keyOf: (accountId: string) => storedNearPublicKey(config.COFFER_KEYSTORE_DIR, accountId), reserveYocto: BigInt(config.NEAR_SWEEP_RESERVE_YOCTO) };
    chains.set('near', { adapter: chainAdapter('near', { near }), rpcUrl: config.NEAR_RPC_URL, treasury: config.NEAR_TREASURY_ACCOUNT, confirmations: 1 });
  }
  if (config.BITCOIN_RPC_URL && config.BITCOIN_TREASURY_ADDRESS) {
    const feePolicy = { confirmationTarget: 6, minSatKvb: satVbToSatKvb(config.BITCOIN_FEE_RATE_MIN_SAT_VB), maxSatKvb: satVbToSatKvb(config.BITCOIN_FEE_RATE_MAX_SAT_VB), fallbackSatKvb: satVbToSatKvb(config.BITCOIN_FEE_RATE_FALLBACK_SAT_VB) };
    const adapter = bitcoinAdapter({ network: config.BITCOIN_NETWORK, finalityDepth: config.BITCOIN_FINALITY_DEPTH, feePolicy });
    const bitcoin: ConsolidationChain = { adapter, rpcUrl: config.BITCOIN_RPC_URL, treasury: config.BITCOIN_TREASURY_ADDRESS, confirmations: config.BITCOIN_FINALITY_DEPTH, batchWindowSeconds: config.BITCOIN_SWEEP_BATCH_WINDOW_SECONDS };
    chains.set('bitcoin', bitcoin);
  }
  return chains;
}

export function openConfiguredQueues(config: Config): Record<QueueName, Queue> {
  return openQueues({ connection: redisConnection(redisTarget(config)), prefix: bullPrefix(config), attempts: config.JOB_ATTEMPTS, backoffMs: config.JOB_BACKOFF_MS });
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
  const webhookRoots = webhookRootFile(config.WEBHOOK_ROOT_FILE);
  const relay = options.keystore ? relayServices({ config, pool, writer, logger, keystore: options.keystore, webhookRoots }) : null;
  const paymasterSigner = options.keystore ? paymasterSignerRotation({ config, pool, logger, keystore: options.keystore }) : null;
  const settings = creditSettings(config);
  const near: NearOperationsContext | null =
    config.NEAR_RPC_URL && options.keystore
      ? {
          pool,
          writer,
          logger,
          rpcUrl: config.NEAR_RPC_URL,
          hotAccount: config.COFFER_NEAR_ACCOUNT,
          publicKeyOf: (accountId) => storedNearPublicKey(config.COFFER_KEYSTORE_DIR, accountId),
          sign: keystoreSigner(options.keystore),
          tokens: nearTokenContracts(config.NEAR_TOKENS),
          signingFunding: nearSigningFunding(config),
        }
      : null;
  const queues = openConfiguredQueues(config);
  const prices = new PriceSource({ db: pool, hermesUrl: config.HERMES_URL, limits: { maxAgeSeconds: config.PRICE_MAX_AGE_SECONDS, maxConfBps: config.PRICE_MAX_CONF_BPS } });
  const workers = startWorkers({
    pool,
    logger,
    connection: redisConnection(redisTarget(config)),
    prefix: bullPrefix(config),
    concurrency: config.WORKER_CONCURRENCY,
    lockMs: config.JOB_LOCK_MS,
    redisOutage: redisOutageLog({ target: redisTarget(config), logger, consequence: 'jobs wait until it is back' }),
    credits: { pool, writer, prices, settings },
    sweeps: { pool, writer, signer, chains: sweepChains(config, options.keystore), logger, ...(options.keystore ? { operational: keystoreSigner(options.keystore) } : {}) },
    wallets: {
      spends: { pool, writer, logger, estimateGas: config.EVM_RPC_URL ? evmGasEstimator(config.EVM_RPC_URL) : noChain },
      execute: config.EVM_RPC_URL ? { pool, writer, logger, signer, rpcUrl: config.EVM_RPC_URL, confirmations: config.SPEND_CONFIRMATIONS } : null,
      webhooks: { pool, logger, roots: webhookRoots },
    },
    ...(relay ? { relay } : {}),
    ...(near ? { near } : {}),
    ...(paymasterSigner ? { paymasterSigner } : {}),
  });
  if (relay) {
    // One scheduler per job across all workers processes (upsert by id): a pass every interval.
    const repeat = { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } };
    await queues.relays.upsertJobScheduler('relay-monitor', { every: config.RELAYER_POLL_INTERVAL_MS }, { name: 'relay-monitor', data: {}, opts: repeat });
    await queues.relays.upsertJobScheduler('refill-pass', { every: config.REFILL_INTERVAL_SECONDS * 1000 }, { name: 'refill-pass', data: {}, opts: repeat });
  }
  if (near) {
    // coffer's NEAR hot account keeps every predecessor it signs as funded for `sign` calls.
    await queues.refills.upsertJobScheduler('near-refill-pass', { every: config.REFILL_INTERVAL_SECONDS * 1000 }, { name: 'near-refill-pass', data: {}, opts: { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } } });
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
