// The demo's edges: with Redis down it says so in one line and exits at once (it used to wait
// 120 s and never exit), and `coffer demo clean` removes what interactive demos left behind
// while keeping a running demo's database and keys.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort } from '../devnets/index.ts';
import { pg, quoteIdentifier } from '../infra/index.ts';
import { adminUrl } from '../testing/index.ts';

const cli = fileURLToPath(new URL('./coffer.ts', import.meta.url));
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const leftover = `t${process.pid}left`;
const running = `t${process.pid}busy`;
const busy = new pg.Client({ connectionString: adminUrl.replace(/\/[^/]*$/, `/coffer_demo_${running}`) });

after(async () => {
  await busy.end().catch(() => undefined);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (const stamp of [leftover, running]) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(`coffer_demo_${stamp}`)} WITH (FORCE)`);
  await admin.end();
  const redis = new Redis(redisUrl);
  for (const stamp of [leftover, running]) {
    const keys = await redis.keys(`coffer-demo-${stamp}:*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
});

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; output: string; elapsedMs: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, DATABASE_URL: adminUrl, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`coffer ${args.join(' ')} did not exit within ${timeoutMs} ms\n${output}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(deadline);
      resolve({ code, output, elapsedMs: Date.now() - started });
    });
  });
}

test('coffer demo --ci with nothing listening at REDIS_URL: one clear line, exit non-zero within 30 s', { timeout: 40_000 }, async () => {
  const port = await freePort();
  const result = await run(['demo', '--ci'], { REDIS_URL: `redis://127.0.0.1:${port}` }, 30_000);
  assert.notEqual(result.code, 0, result.output);
  assert.match(result.output, new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: connection refused — start it`));
  assert.doesNotMatch(result.output, /cannot reach PostgreSQL/, 'PostgreSQL is up, so only Redis is named');
});

test('coffer demo clean: drops leftover demo databases and their Redis keys, keeps a running demo\'s', { timeout: 60_000 }, async () => {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (const stamp of [leftover, running]) await admin.query(`CREATE DATABASE ${quoteIdentifier(`coffer_demo_${stamp}`)}`);
  await busy.connect();
  const redis = new Redis(redisUrl);
  await redis.set(`coffer-demo-${leftover}:bull:credits:id`, '1');
  await redis.set(`coffer-demo-${leftover}:ratelimit:x`, '2');
  await redis.set(`coffer-demo-${running}:bull:credits:id`, '3');

  const result = await run(['demo', 'clean'], {}, 40_000);
  assert.equal(result.code, 0, result.output);
  assert.match(result.output, new RegExp(`dropped database coffer_demo_${leftover}\n`));
  assert.match(result.output, new RegExp(`deleted 2 Redis keys under coffer-demo-${leftover}:\n`));
  assert.match(result.output, new RegExp(`kept database coffer_demo_${running}: in use`));

  const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname = ANY($1) ORDER BY datname`, [[`coffer_demo_${leftover}`, `coffer_demo_${running}`]]);
  assert.deepEqual(rows.map((r) => r.datname), [`coffer_demo_${running}`]);
  assert.deepEqual(await redis.keys(`coffer-demo-${leftover}:*`), []);
  assert.deepEqual(await redis.keys(`coffer-demo-${running}:*`), [`coffer-demo-${running}:bull:credits:id`]);
  redis.disconnect();
  await admin.end();
});
