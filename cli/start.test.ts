// `coffer start` as an operator meets it on a fresh machine: no EVM node configured, no keystore
// passphrase. Its log must say where the API listens (the address really bound, loopback by
// default), which indexers are off and why, and warn about the development passphrase once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort } from '../devnets/index.ts';
import { stopProcess } from '../infra/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';

const cli = fileURLToPath(new URL('./coffer.ts', import.meta.url));
const startTimeoutMs = 60_000;
let db: TestDatabase;
let dir = '';
let child: ChildProcess | undefined;
const redisPrefix = `coffer-start-test-${process.pid}:`;

before(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'coffer-start-'));
});

after(async () => {
  if (child) await stopProcess(child, 10_000);
  await db.drop();
  await rm(dir, { recursive: true, force: true });
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

interface LogLine {
  msg: string;
  service?: string;
  url?: string;
}

test('coffer start: the bound address, the indexers that are off and why, one passphrase warning', { timeout: startTimeoutMs + 20_000 }, async () => {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, PORT: String(port), REDIS_KEY_PREFIX: redisPrefix, COFFER_KEYSTORE_DIR: join(dir, 'keys'), WEBHOOK_ROOT_FILE: join(dir, 'webhook-root'), LOG_LEVEL: 'info' };
  for (const name of ['EVM_RPC_URL', 'API_HOST', 'COFFER_KEYSTORE_PASSPHRASE', 'COFFER_KEYSTORE_PASSPHRASE_FILE']) delete env[name];
  const running = spawn(process.execPath, [cli, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child = running;
  let output = '';
  running.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  running.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const lines = () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);

  const deadline = Date.now() + startTimeoutMs;
  while (!lines().some((line) => line.msg === 'API listening')) {
    assert.ok(Date.now() < deadline, `timed out waiting for the "API listening" line\n${output}`);
    assert.equal(running.exitCode, null, `coffer start exited early\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const listening = lines().find((line) => line.msg === 'API listening')!;
  assert.equal(listening.url, `http://127.0.0.1:${port}`);
  assert.equal((await fetch(`${listening.url}/health`)).status, 200);
  const outside = Object.values(networkInterfaces()).flat().find((nic) => nic && nic.family === 'IPv4' && !nic.internal);
  if (outside) {
    await assert.rejects(fetch(`http://${outside.address}:${port}/health`), 'loopback by default: not reachable on another interface');
  }

  assert.ok(lines().some((line) => line.msg === 'indexer evm: off — EVM_RPC_URL is not set'), output);
  const warnings = lines().filter((line) => line.service === 'coffer' && line.msg.startsWith('using a development keystore passphrase'));
  assert.equal(warnings.length, 1, `one development-passphrase warning from the main process\n${output}`);
});
