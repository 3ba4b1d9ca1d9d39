// The queues and what a job on them may expect: every job retries with exponential backoff up
// to a cap, and a job that exhausts its attempts stays in the failed set (visible on the board
// at /admin/queues) instead of vanishing.
import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import { queueNames, type QueueName } from '../infra/index.ts';

export { queueNames, type QueueName };

export interface QueueSettings {
  connection: ConnectionOptions;
  /** BullMQ key prefix; tests use their own so runs never share Redis state. */
  prefix: string;
  attempts: number;
  backoffMs: number;
}

export function jobOptions(settings: Pick<QueueSettings, 'attempts' | 'backoffMs'>): DefaultJobOptions {
  return {
    attempts: settings.attempts,
    backoff: { type: 'exponential', delay: settings.backoffMs },
    // Done work is recorded in PostgreSQL (outbox.completed_at); Redis keeps a window for the board.
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: false,
  };
}

/** Opens one Queue per name (for adding jobs and for the board). */
export function openQueues(settings: QueueSettings): Record<QueueName, Queue> {
  const queues = {} as Record<QueueName, Queue>;
  for (const name of queueNames) {
    queues[name] = new Queue(name, { connection: settings.connection, prefix: settings.prefix, defaultJobOptions: jobOptions(settings) });
  }
  return queues;
}

export async function closeQueues(queues: Record<QueueName, Queue>): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}
