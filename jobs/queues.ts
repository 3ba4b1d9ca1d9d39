// The queues and what a job on them may expect: every job retries with exponential backoff up
// to a cap, and a job that exhausts its attempts stays in the failed set (visible on the board
// at /admin/queues) instead of vanishing.
import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import { Cluster } from 'ioredis';
import { openRedis, queueNames, type QueueName, type RedisTarget } from '../infra/index.ts';

export { queueNames, type QueueName };

/**
 * BullMQ key prefix: one for all queues, or one per queue. On a Redis Cluster each queue's
 * prefix is a hash tag (`{coffer:bull:credits}`): BullMQ's scripts touch many keys of a queue
 * at once, and those must live in one slot; a tag per queue spreads the queues over the masters.
 */
export type BullPrefix = string | ((queue: QueueName) => string);

export const prefixOf = (prefix: BullPrefix, queue: QueueName) => (typeof prefix === 'string' ? prefix : prefix(queue));

/**
 * How BullMQ reaches Redis. A server: options, from which BullMQ opens its own connections (and
 * closes them). A cluster: one ioredis Cluster client that the queues or workers given it share
 * (BullMQ duplicates it for blocking reads); `releaseConnection` quits it after them.
 */
export function redisConnection(target: RedisTarget | string): ConnectionOptions {
  const where = typeof target === 'string' ? ({ kind: 'server', url: target } as const) : target;
  // Workers block on Redis: BullMQ requires commands to wait for a reconnect rather than give up.
  if (where.kind === 'cluster') return openRedis(where, { maxRetriesPerRequest: null });
  const parsed = new URL(where.url);
  const db = parsed.pathname.replace(/^\//, '');
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** Quits a cluster client `redisConnection` opened, once nothing uses it any more (BullMQ leaves shared clients open). */
export async function releaseConnection(connection: ConnectionOptions): Promise<void> {
  if (connection instanceof Cluster && connection.status !== 'end') await connection.quit().catch(() => connection.disconnect());
}

export interface QueueSettings {
  connection: ConnectionOptions;
  /** BullMQ key prefix; tests use their own so runs never share Redis state. */
  prefix: BullPrefix;
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
    queues[name] = new Queue(name, { connection: settings.connection, prefix: prefixOf(settings.prefix, name), defaultJobOptions: jobOptions(settings) });
  }
  return queues;
}

/** Closes the queues, then the cluster client they shared (if they had one). */
export async function closeQueues(queues: Record<QueueName, Queue>): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
  const shared = new Set(Object.values(queues).map((queue) => queue.opts.connection));
  await Promise.all([...shared].map(releaseConnection));
}
