// The workers: one BullMQ Worker per queue, a handler per job name. Every handler is
// idempotent (its ledger writes carry idempotency keys and its decisions are rows with unique
// keys), so BullMQ's at-least-once delivery — a retry, a stalled job taken over after a worker
// died, a job offered again after Redis lost it — still has one effect. When a handler has
// done its work the outbox row is marked done, which stops the dispatcher offering it again.
// Payloads are parsed with the job catalogue (infra/job-catalogue.ts) before a handler runs: a
// payload that does not fit fails for good (retrying cannot fix it).
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { JobPayloadError, markDone, parseJobPayload, type JobName, type JobPayload, type Logger, type Pool, type RedisOutageLog } from '../infra/index.ts';
import {
  decideSpend,
  deliverSpendWebhook,
  executeSpend,
  expireApproval,
  rejectUndecidable,
  type ExecuteContext,
  type SpendContext,
  type WebhookContext,
} from '../wallets/index.ts';
import { creditDeposit, reverseCredit, type CreditContext } from '../credits/index.ts';
import { prefixOf, releaseConnection, type BullPrefix, type QueueName } from './queues.ts';
import { stoppedIndexerConditions } from '../indexers/index.ts';
import { monitorPass, refillPass, advanceTreasuryRotation, relayAllQueued, type RelayServices } from '../relayer/index.ts';
import { advancePaymasterSignerRotations, type SignerRotationContext } from '../sponsor/index.ts';
import { consolidate, consolidationChains, failedSweepConditions, nearRefillPass, registerNearTokenStorage, sweepOrConsolidate, type NearOperationsContext, type SweepContext } from '../sweeps/index.ts';

/** A handler for every job of a queue it serves, each taking its catalogued payload. */
type Handlers = { [Q in QueueName]?: { [N in JobName<Q>]: (payload: JobPayload<Q, N>) => Promise<unknown> } };
type AnyHandler = (payload: Record<string, string>) => Promise<unknown>;

export interface WorkerOptions {
  pool: Pool;
  logger: Logger;
  connection: ConnectionOptions;
  prefix: BullPrefix;
  concurrency: number;
  /** How long a job's lock lasts without renewal: a dead worker's job is taken over after it. */
  lockMs?: number;
  credits: CreditContext;
  /** Without it the sweeps queue gets no worker here (a process that only credits). */
  sweeps?: SweepContext;
  /** Agent spends: decisions, execution (without an EVM RPC, none) and webhooks. */
  wallets?: { spends: SpendContext; execute: ExecuteContext | null; webhooks: WebhookContext };
  /** The relayer's monitor and the refill pass (repeatable jobs on the relays queue). */
  relay?: RelayServices;
  /** coffer's NEAR hot account's work: signing refills and token storage (with NEAR_RPC_URL and a keystore). */
  near?: NearOperationsContext;
  /** The verifying paymaster's signer rotation: the refill pass retires old keys once they are due. */
  paymasterSigner?: SignerRotationContext;
  /** Reports a Redis outage once for all the workers' connections; without it each connection error is a warning. */
  redisOutage?: RedisOutageLog;
}

export interface RunningWorkers {
  workers: Worker[];
  close(): Promise<void>;
}

const jsonSafe = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));

export function startWorkers(options: WorkerOptions): RunningWorkers {
  const handlers: Handlers = {
    credits: {
      'credit-deposit': ({ confirmationEntryId }) => creditDeposit(options.credits, BigInt(confirmationEntryId)),
      'credit-reversal': ({ confirmationEntryId }) => reverseCredit(options.credits, BigInt(confirmationEntryId)),
    },
    ...(options.sweeps
      ? ({
          sweeps: {
            'sweep-deposit': ({ depositEntryId }) => sweepOrConsolidate(options.sweeps!, BigInt(depositEntryId)),
            consolidate: ({ chain }) => consolidate({ ...options.sweeps!, chains: consolidationChains(options.sweeps!.chains) }, chain),
          },
        } satisfies Handlers)
      : {}),
    ...(options.wallets ? walletHandlers(options.wallets) : {}),
    ...(options.relay ? relayHandlers(options.relay, options.paymasterSigner) : {}),
    ...nearHandlers(options.near),
  };
  /** What a job that failed for good leaves behind: a spend that could not be decided is rejected (fail closed). */
  const onExhausted: Record<string, (data: Record<string, string>, error: Error) => Promise<void>> = {
    'decide-spend': (data, error) => {
      if (!options.wallets) return Promise.resolve();
      const { spendId } = parseJobPayload('spends', 'decide-spend', data);
      return rejectUndecidable(options.wallets.spends, spendId, error.message.slice(0, 300));
    },
  };
  const workers = Object.entries(handlers).map(([queue, byName]) => {
    const worker = new Worker(
      queue,
      async (job: Job<Record<string, string>>) => {
        const handler = (byName as unknown as Record<string, AnyHandler>)[job.name];
        if (!handler) throw new Error(`no handler for job "${job.name}" on queue ${queue}`);
        let payload: Record<string, string>;
        try {
          payload = parseJobPayload(queue, job.name, job.data);
        } catch (error) {
          throw error instanceof JobPayloadError ? new UnrecoverableError(error.message) : error;
        }
        const outcome = jsonSafe(await handler(payload));
        // Repeatable jobs (the relay monitor, refill passes) come from a scheduler, not the outbox.
        if (job.data.outboxId) await markDone(options.pool, job.data.outboxId);
        options.logger[job.data.outboxId ? 'info' : 'debug']('job done', { queue, job: job.name, id: job.id, outcome });
        return outcome;
      },
      {
        connection: options.connection,
        prefix: prefixOf(options.prefix, queue as QueueName),
        concurrency: options.concurrency,
        // A worker that dies mid-job: another takes the job over after this long.
        lockDuration: options.lockMs ?? 30_000,
        stalledInterval: Math.max(1_000, Math.floor((options.lockMs ?? 30_000) / 2)),
        autorun: true,
      },
    );
    worker.on('failed', (job, error) => {
      const attempts = job?.opts.attempts ?? 1;
      const exhausted = error instanceof UnrecoverableError || (job?.attemptsMade ?? 0) >= attempts;
      options.logger[exhausted ? 'error' : 'warn'](exhausted ? 'job failed for good; it stays in the failed set' : 'job failed; retrying with backoff', {
        queue,
        job: job?.name,
        id: job?.id,
        attempt: job?.attemptsMade,
        error: error.message,
      });
      const settle = exhausted && job ? onExhausted[job.name] : undefined;
      if (settle && job) {
        settle(job.data, error).then(
          () => markDone(options.pool, job.data.outboxId!),
          (cause: unknown) => options.logger.error('could not settle a job that failed for good', { queue, job: job.name, id: job.id, error: cause }),
        );
      }
    });
    const outage = options.redisOutage;
    if (outage) {
      worker.on('error', (error) => outage.failed(error));
      worker.on('ready', () => outage.recovered());
    } else {
      worker.on('error', (error) => options.logger.warn('worker connection problem', { queue, error: error.message }));
    }
    return worker;
  });
  return {
    workers,
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
      await releaseConnection(options.connection);
    },
  };
}

function walletHandlers(wallets: NonNullable<WorkerOptions['wallets']>): Handlers {
  return {
    spends: {
      'decide-spend': ({ spendId }) => decideSpend(wallets.spends, spendId),
      'expire-approval': ({ spendId }) => expireApproval(wallets.spends, spendId),
      'execute-spend': ({ spendId }) => {
        if (!wallets.execute) throw new UnrecoverableError('spends are executed on an EVM chain: set EVM_RPC_URL');
        return executeSpend(wallets.execute, spendId);
      },
    },
    webhooks: { 'deliver-webhook': ({ spendId, status }) => deliverSpendWebhook(wallets.webhooks, spendId, status) },
  };
}

function relayHandlers(relay: RelayServices, paymasterSigner: SignerRotationContext | undefined): Handlers {
  return {
    relays: {
      'relay-monitor': async () => {
        const outcome = await monitorPass(relay.ctx);
        const forwarded = relay.forwarder ? await relayAllQueued(relay.forwarder) : 0;
        return { ...outcome, forwarded };
      },
      // The refill pass is the operations pass: after it, conditions other rooms own are synced
      // into the alerts module (each fires once, and clears when it no longer holds).
      'refill-pass': async () => {
        const outcome = await refillPass(relay.refills);
        // A treasury key rotation the API started (or a run that stopped) moves on after each pass.
        const treasuryRotation = await advanceTreasuryRotation(relay.refills);
        const alerts = relay.refills.alerts;
        if (alerts) {
          await alerts.sync('indexer.stopped', await stoppedIndexerConditions(relay.refills.pool));
          await alerts.sync('sweep.failed', await failedSweepConditions(relay.refills.pool));
        }
        // A paymaster signer rotation's old key leaves the signer set once its overlap and its
        // signatures are over; a failure here is logged and tried again next pass, the refills stand.
        const paymasterSigners = paymasterSigner
          ? await advancePaymasterSignerRotations(paymasterSigner).catch((error: unknown) => {
              relay.refills.logger.error('paymaster signer rotation: the pass failed; it runs again with the next refill pass', { error });
              return { failed: true };
            })
          : null;
        return { ...outcome, ...(treasuryRotation ? { treasuryRotation } : {}), ...(paymasterSigners ? { paymasterSigners } : {}) };
      },
    },
  };
}

/** Without NEAR configured a token-storage job (a NEAR address handed out anyway) has nothing to do: it is done, saying why. */
function nearHandlers(near: NearOperationsContext | undefined): Handlers {
  const skipped = { skipped: 'NEAR_RPC_URL or the keystore is not configured' };
  return {
    refills: {
      'near-refill-pass': () => (near ? nearRefillPass(near) : Promise.resolve(skipped)),
      'near-token-storage': ({ accountId }) => (near ? registerNearTokenStorage(near, accountId) : Promise.resolve(skipped)),
    },
  };
}
