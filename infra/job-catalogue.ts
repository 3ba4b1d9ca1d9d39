// The job catalogue: every queue, the job names on it and each job's payload (a zod schema).
// `enqueue` checks a payload against it before the outbox row is written, and the workers
// parse what BullMQ hands them with it, so a job's producer and its handler cannot drift
// apart. It lives in infra/ beside the outbox because every room that changes the ledger
// enqueues (indexers, jobs, wallets).
import { z } from 'zod';
import { CodedError } from './errors.ts';

/** An entry id, as JSON carries a bigint: decimal digits. */
const entryId = z.string().regex(/^\d+$/);
const spend = z.object({ spendId: z.string().min(1) });
/** Repeatable jobs come from BullMQ's schedulers and carry nothing. */
const scheduled = z.object({});

export const jobCatalogue = {
  credits: {
    'credit-deposit': z.object({ confirmationEntryId: entryId }),
    'credit-reversal': z.object({ confirmationEntryId: entryId }),
  },
  sweeps: {
    'sweep-deposit': z.object({ depositEntryId: entryId }),
    // UTXO chains: one consolidation of every ready deposit of the chain per batch window.
    consolidate: z.object({ chain: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/) }),
  },
  // EVM sweeps that need gas record a `refill_requests` row for an operator (jobs/README).
  // NEAR: the signing refill pass (coffer's hot account tops up the predecessors it signs as),
  // and a user's NEAR account registered on every accepted token when its address is handed out.
  refills: { 'near-refill-pass': scheduled, 'near-token-storage': z.object({ accountId: z.string().min(2).max(64) }) },
  spends: { 'decide-spend': spend, 'execute-spend': spend, 'expire-approval': spend },
  webhooks: { 'deliver-webhook': z.object({ spendId: z.string().min(1), status: z.string().min(1) }) },
  relays: { 'relay-monitor': scheduled, 'refill-pass': scheduled },
} as const satisfies Record<string, Record<string, z.ZodObject>>;

export type QueueName = keyof typeof jobCatalogue;
export const queueNames = Object.keys(jobCatalogue) as readonly QueueName[];
export type JobName<Q extends QueueName> = keyof (typeof jobCatalogue)[Q] & string;
type Schema<Q extends QueueName, N extends JobName<Q>> = (typeof jobCatalogue)[Q][N] extends z.ZodType ? (typeof jobCatalogue)[Q][N] : never;
export type JobPayload<Q extends QueueName, N extends JobName<Q>> = z.infer<Schema<Q, N>>;

/** One job of the catalogue: its queue, name and payload agree. */
export type CataloguedJob = { [Q in QueueName]: { [N in JobName<Q>]: { queue: Q; name: N; payload: JobPayload<Q, N> } }[JobName<Q>] }[QueueName];

const jobPayloadErrorCodes = ['unknown_job', 'invalid_job_payload'] as const;

export class JobPayloadError extends CodedError<(typeof jobPayloadErrorCodes)[number]> {
  static readonly codes = jobPayloadErrorCodes;
  override name = 'JobPayloadError';
}

/** The payload, checked against the catalogue; throws `JobPayloadError` for an unknown job or a payload that does not fit. */
export function parseJobPayload<Q extends QueueName, N extends JobName<Q>>(queue: Q, name: N, data: unknown): JobPayload<Q, N>;
export function parseJobPayload(queue: string, name: string, data: unknown): Record<string, string>;
export function parseJobPayload(queue: string, name: string, data: unknown): Record<string, string> {
  const byName: Record<string, z.ZodObject> | undefined = Object.hasOwn(jobCatalogue, queue) ? jobCatalogue[queue as QueueName] : undefined;
  const schema = byName && Object.hasOwn(byName, name) ? byName[name] : undefined;
  if (!schema) throw new JobPayloadError('unknown_job', `the job catalogue has no job "${name}" on queue ${queue}`);
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new JobPayloadError('invalid_job_payload', `job ${queue}/${name}: payload ${issue.path.join('.') || '(root)'} ${issue.message}`);
  }
  return parsed.data as Record<string, string>;
}
