// Bearer API keys, role checks, and a per-key rate limit in Redis (fixed one-minute windows).
import type { MiddlewareHandler } from 'hono';
import type { ApiDependencies, AppEnv } from './context.ts';
import { authenticateApiKey, type Role } from '../access/index.ts';
import { ApiError } from './problem.ts';

export function authenticate(deps: ApiDependencies): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const key = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!key) throw new ApiError(401, 'unauthorized', 'send Authorization: Bearer <api key>');
    const identity = await authenticateApiKey(deps.pool, key, deps.now?.() ?? new Date());
    if (!identity) throw new ApiError(401, 'unauthorized', 'the API key is unknown, revoked, or rotated and past its overlap');
    // A sponsor key is handed to wallets (often in a URL): it reaches the paymaster service and nothing else.
    if (identity.role === 'sponsor') throw new ApiError(403, 'forbidden', 'a sponsor key only reaches POST /v1/paymaster');
    c.set('identity', identity);
    if (deps.redis && deps.rateLimitPerMinute) {
      const window = Math.floor(Date.now() / 60_000);
      const key = `${deps.redisKeyPrefix ?? 'coffer:'}ratelimit:${identity.id}:${window}`;
      let count: number | null = null;
      try {
        count = await deps.redis.incr(key);
        if (count === 1) await deps.redis.expire(key, 120);
      } catch (error) {
        // A rate limiter that is down must not take the ledger down with it.
        deps.logger.warn('rate limiter unavailable; request allowed', { error });
      }
      if (count !== null) {
        c.header('RateLimit-Limit', String(deps.rateLimitPerMinute));
        c.header('RateLimit-Remaining', String(Math.max(0, deps.rateLimitPerMinute - count)));
        if (count > deps.rateLimitPerMinute) {
          c.header('Retry-After', String(60 - (Math.floor(Date.now() / 1000) % 60)));
          throw new ApiError(429, 'rate_limited', `at most ${deps.rateLimitPerMinute} requests a minute per key`);
        }
      }
    }
    await next();
  };
}

export function requireRole(...allowed: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const identity = c.get('identity');
    if (!allowed.includes(identity.role)) {
      throw new ApiError(403, 'forbidden', `this needs a key with role ${allowed.join(' or ')}; yours is ${identity.role}`);
    }
    await next();
  };
}
