// Redis outages in coffer's own words. ioredis reports every failed reconnect (several a second
// across a process's connections) and, to a command, only "max retries per request"; operators
// need the cause once when an outage starts and once when it ends.
import type { Logger } from './logger.ts';

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
export function redisOutageLog(options: { url: string; logger: Logger; consequence?: string }): RedisOutageLog {
  const address = redisAddress(options.url);
  let cause: string | null = null;
  let sinceMs = 0;
  return {
    failed(error) {
      const described = describeConnectionError(error);
      if (cause === null) {
        sinceMs = Date.now();
        options.logger.warn(`cannot reach Redis at ${address}: ${described}`, { redis: address, cause: described, ...(options.consequence ? { consequence: options.consequence } : {}) });
      }
      cause = described;
    },
    recovered() {
      if (cause === null) return;
      options.logger.info(`Redis at ${address} is reachable again`, { redis: address, downMs: Date.now() - sinceMs });
      cause = null;
    },
    problem: () => (cause === null ? null : `cannot reach Redis at ${address}: ${cause}`),
  };
}
