// Removes a test's Redis keys (its queues, under its own key prefix) once the test is done.
import { Redis } from 'ioredis';

export async function deleteRedisKeysWithPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
