// What a demo step made and must remove when it ends, besides its database (infra's
// dropDatabase): its Redis keys. Shared by the demo and its per-chain steps, each of which has
// its own database and key prefix.
import { openRedis } from '../../infra/index.ts';

/** The demo's queues and rate-limit counters, so a --ci run leaves Redis as it found it. */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  // No reconnecting: a cleanup must end even when Redis went away.
  const redis = openRedis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
