// Redis in one place: where it is (one server, or a Redis Cluster), the one factory every
// connection comes from, and outages in coffer's own words. ioredis reports every failed
// reconnect (several a second across a process's connections) and, to a command, only "max
// retries per request"; operators need the cause once when an outage starts and once when it ends.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

/** One Redis server (REDIS_URL), or the seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES). */
export type RedisTarget = { kind: 'server'; url: string } | { kind: 'cluster'; nodes: readonly RedisNode[] };
export interface RedisNode {
  host: string;
  port: number;
}
/** What `openRedis` hands out: both answer the same commands; a cluster routes each key to its node. */
export type RedisClient = Redis | Cluster;

/** host:port[,host:port…], as REDIS_CLUSTER_NODES holds it (the configuration checked its form). */
export function parseRedisNodes(text: string): RedisNode[] {
  return text.split(',').map((item) => {
    const at = item.trim().lastIndexOf(':');
    return { host: item.trim().slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(item.trim().slice(at + 1)) };
  });
}

/** The cluster when REDIS_CLUSTER_NODES is set (it wins), otherwise the server at REDIS_URL. */
export function redisTarget(config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>): RedisTarget {
  return config.REDIS_CLUSTER_NODES ? { kind: 'cluster', nodes: parseRedisNodes(config.REDIS_CLUSTER_NODES) } : { kind: 'server', url: config.REDIS_URL };
}

/**
 * Every Redis connection coffer opens comes from here (BullMQ's own duplicates excepted). A
 * string is a redis:// URL. For a cluster, `options` apply to each node's connection and
 * `lazyConnect` to the cluster client; ioredis finds the other nodes from the seeds.
 */
export function openRedis(target: string | { kind: 'server'; url: string }, options?: RedisOptions): Redis;
export function openRedis(target: RedisTarget | string, options?: RedisOptions): RedisClient;
export function openRedis(target: RedisTarget | string, options: RedisOptions = {}): RedisClient {
  const where = typeof target === 'string' ? ({ kind: 'server', url: target } as const) : target;
  if (where.kind === 'server') return new Redis(where.url, options);
  const { lazyConnect, ...redisOptions } = options;
  return new Cluster(
    where.nodes.map((node) => ({ ...node })),
    { lazyConnect: lazyConnect ?? false, redisOptions, ...(options.retryStrategy ? { clusterRetryStrategy: options.retryStrategy } : {}) },
  );
}

/** What and where a target is, for messages ("Redis at redis://host:6379", "Redis Cluster at a:7000,b:7000"): never a password. */
export function redisTargetAddress(target: RedisTarget | string): string {
  if (typeof target === 'string') return `Redis at ${redisAddress(target)}`;
  if (target.kind === 'server') return `Redis at ${redisAddress(target.url)}`;
  return `Redis Cluster at ${target.nodes.map((node) => `${node.host.includes(':') ? `[${node.host}]` : node.host}:${node.port}`).join(',')}`;
}

const causes: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
};

/** The cause of a connection error (Redis, PostgreSQL), in a few words that never carry a URL's password. */
export function describeConnectionError(error: unknown): string {
  const code = error instanceof Error && 'code' in error ? String(error.code) : '';
  if (causes[code]) return causes[code];
  const message = error instanceof Error ? error.message : String(error);
  if (/NOAUTH|WRONGPASS|invalid password/i.test(message)) return 'authentication failed';
  return message.split('\n')[0]!.slice(0, 200);
}

/** host:port (and database) of a redis:// URL, without user or password, for messages. */
export function redisAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.hostname}:${parsed.port || '6379'}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
}

export interface RedisOutageLog {
  /** A connection failed: warns if this starts an outage, otherwise only remembers the cause. */
  failed(error: unknown): void;
  /** A connection is ready: says the outage ended, if there was one. */
  recovered(): void;
  /** The current outage's cause, or null while Redis is reachable. */
  problem(): string | null;
}

/** One warning per outage and one line when it ends, however many connections report it. */
export function redisOutageLog(options: { target: RedisTarget | string; logger: Logger; consequence?: string }): RedisOutageLog {
  const address = redisTargetAddress(options.target);
  let cause: string | null = null;
  let sinceMs = 0;
  return {
    failed(error) {
      const described = describeConnectionError(error);
      if (cause === null) {
        sinceMs = Date.now();
        options.logger.warn(`cannot reach ${address}: ${described}`, { redis: address, cause: described, ...(options.consequence ? { consequence: options.consequence } : {}) });
      }
      cause = described;
    },
    recovered() {
      if (cause === null) return;
      options.logger.info(`${address} is reachable again`, { redis: address, downMs: Date.now() - sinceMs });
      cause = null;
    },
    problem: () => (cause === null ? null : `cannot reach ${address}: ${cause}`),
  };
}
