// What a demo step made and must remove when it ends: its database and its Redis keys. Shared by
// the demo and its per-chain steps, each of which has its own database and key prefix.
import { openRedis, pg, quoteIdentifier, splitDatabaseUrl } from '../../infra/index.ts';

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const { database, maintenanceUrl } = splitDatabaseUrl(databaseUrl);
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

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
