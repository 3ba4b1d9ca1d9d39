import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, openRedis, redisOutageLog, redisTarget, redisTargetAddress, silentLogger, type RedisClient } from './index.ts';
import { bullPrefix } from '../jobs/index.ts';
import { startRedisCluster, type RedisClusterBed } from '../testing/redis-cluster.ts';

let cluster: RedisClusterBed;
const clients: RedisClient[] = [];

before(async () => {
  cluster = await startRedisCluster();
});

after(async () => {
  for (const client of clients) client.disconnect();
  await cluster?.stop();
});

test('REDIS_URL is the default; REDIS_CLUSTER_NODES, when set, wins', () => {
  assert.deepEqual(redisTarget(loadConfig({})), { kind: 'server', url: 'redis://127.0.0.1:6379' });
  const config = loadConfig({ REDIS_URL: 'redis://:secret@10.0.0.9:6379', REDIS_CLUSTER_NODES: '10.0.0.1:7000,redis-b:7001,[::1]:7002' });
  assert.deepEqual(redisTarget(config), {
    kind: 'cluster',
    nodes: [
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b', port: 7001 },
      { host: '::1', port: 7002 },
    ],
  });
  assert.equal(redisTargetAddress(redisTarget(config)), 'Redis Cluster at 10.0.0.1:7000,redis-b:7001,[::1]:7002');
  assert.equal(redisTargetAddress('redis://:secret@10.0.0.9:6379/2'), 'Redis at redis://10.0.0.9:6379/2', 'never the password');
  assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000' }), (error: unknown) => error instanceof ConfigError && /REDIS_CLUSTER_NODES/.test(error.message));
});

test('on a cluster every queue has its own hash tag, so its keys share a slot and queues spread over the masters', () => {
  const prefix = bullPrefix({ REDIS_KEY_PREFIX: 'coffer:', REDIS_CLUSTER_NODES: '127.0.0.1:7000' });
  assert.equal(typeof prefix, 'function');
  if (typeof prefix !== 'function') return;
  assert.equal(prefix('credits'), '{coffer:bull:credits}');
  assert.equal(bullPrefix({ REDIS_KEY_PREFIX: 'coffer:', REDIS_CLUSTER_NODES: undefined }), 'coffer:bull', 'one server: the prefix as before');
});

test('openRedis on a cluster: keys land on different masters, and the outage log names the cluster', async () => {
  const client = openRedis({ kind: 'cluster', nodes: cluster.nodes });
  clients.push(client);
  // Rate-limit counters are single keys: INCR and EXPIRE route to whichever master owns each.
  const keys = ['coffer:ratelimit:a:1', 'coffer:ratelimit:b:1', 'coffer:ratelimit:c:1', 'coffer:ratelimit:d:1'];
  for (const key of keys) {
    assert.equal(await client.incr(key), 1);
    await client.expire(key, 60);
  }
  const owners = new Set(await Promise.all(keys.map((key) => cluster.nodeOf(key))));
  assert.ok(owners.size > 1, 'the keys are spread over more than one master');
  for (const key of keys) assert.equal(await client.get(key), '1');

  const warnings: string[] = [];
  const outage = redisOutageLog({ target: { kind: 'cluster', nodes: cluster.nodes }, logger: { ...silentLogger, warn: (message: string) => void warnings.push(message) } });
  outage.failed(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
  outage.failed(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
  assert.equal(outage.problem(), `cannot reach Redis Cluster at ${cluster.nodesText}: connection refused`);
  assert.deepEqual(warnings, [`cannot reach Redis Cluster at ${cluster.nodesText}: connection refused`], 'one warning per outage');
});
