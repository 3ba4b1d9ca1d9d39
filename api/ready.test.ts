// A Redis outage as an operator sees it: /ready names the cause in coffer's words, and the log
// says so once when the outage starts and once when it ends, not at every reconnect attempt.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../devnets/index.ts';
import { createLogger, redisOutageLog, stopProcess } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { createApp } from './index.ts';

let db: TestDatabase;
let writer: LedgerWriter;
let redis: Redis | undefined;
let server: ChildProcess | undefined;

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
});
after(async () => {
  redis?.disconnect();
  if (server) await stopProcess(server);
  await writer.close();
  await db.drop();
});

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('Redis down: /ready says "connection refused"; one warning per outage, one line when it ends', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const lines: { level: string; msg: string }[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line) as { level: string; msg: string }) });
  const outage = redisOutageLog({ target: url, logger });
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  redis = client;
  client.on('error', (error) => outage.failed(error));
  client.on('ready', () => outage.recovered());
  await client.connect().catch((error: unknown) => outage.failed(error));
  const app = createApp({ pool: db.pool, writer, logger, redis: client, redisHealth: outage });

  // Long enough for ioredis to fail many reconnects (its backoff starts at 50 ms).
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const down = await app.request('/ready');
  const body = (await down.json()) as { status: string; checks: Record<string, string> };
  assert.equal(down.status, 503);
  assert.equal(body.checks.postgres, 'ok');
  assert.equal(body.checks.redis, `cannot reach Redis at ${url}: connection refused`);
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [['warn', `cannot reach Redis at ${url}: connection refused`]], 'one warning for the whole outage');

  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor('the outage to end in the log', () => lines.length === 2, 15_000);
  assert.deepEqual(lines[1]!.level, 'info');
  assert.equal(lines[1]!.msg, `Redis at ${url} is reachable again`);
  const up = await app.request('/ready');
  assert.equal(up.status, 200, JSON.stringify(await up.clone().json()));
  assert.equal(lines.length, 2);
});
