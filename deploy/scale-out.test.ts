// More processes, as docker-compose.yml scales them (ADR 0010): two API processes, three worker
// processes and the EVM indexer, each a real `coffer` child, against one PostgreSQL and one Redis,
// all started at once on an empty keystore. A burst of deposits on anvil and of agent spends,
// each spend sent through both APIs under one idempotency key: exactly one credit per deposit,
// one execution per spend, and `coffer verify` passes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { createPublicClient, http, type Address } from 'viem';
import { createApiKey } from '../access/index.ts';
import { deleteRedisKeys } from '../cli/commands/demo-cleanup.ts';
import { freePort, startHermesReplay, type HermesReplay } from '../devnets/index.ts';
import { createEvmWorld, eventually, whileMining as mining, type EvmWorld, type IndexerProcess } from '../testing/evm-world.ts';
import { getBalances, getTrialBalance } from '../ledger/index.ts';
import { createUser } from '../users/index.ts';

const ether = 10n ** 18n;
const depositsCount = 16;
const spendsCount = 6;
const spendWei = ether / 100n;
let world: EvmWorld;
let hermes: HermesReplay;
let dir: string;
let redisPrefix: string;
let apis: string[] = [];
const processes: { name: string; process: IndexerProcess }[] = [];
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-scale-'));
  world = await createEvmWorld({ finalityDepth: 2 });
  hermes = await startHermesReplay();
  redisPrefix = `${world.db.name}:`;
  const env: NodeJS.ProcessEnv = {
    REDIS_KEY_PREFIX: redisPrefix,
    HERMES_URL: hermes.url,
    COFFER_KEYSTORE_DIR: join(dir, 'keys'),
    COFFER_KEYSTORE_PASSPHRASE: 'scale-out-test-passphrase',
    WEBHOOK_ROOT_FILE: join(dir, 'webhook-root'),
    SPEND_CONFIRMATIONS: '2',
    JOB_BACKOFF_MS: '200',
    OUTBOX_POLL_INTERVAL_MS: '200',
    LOG_LEVEL: 'warn',
  };
  const ports = [await freePort(), await freePort()];
  apis = ports.map((port) => `http://127.0.0.1:${port}`);
  // All at once, as `docker compose up` starts them: the keystore's emulator roots are created by
  // whichever process comes first, and every other one must use the same.
  const start = (name: string, args: string[]) => processes.push({ name, process: world.startCoffer(args, env) });
  start('api-1', ['start', '--api', '--projections', '--port', String(ports[0])]);
  start('api-2', ['start', '--api', '--port', String(ports[1])]);
  for (const n of [1, 2, 3]) start(`workers-${n}`, ['start', '--workers']);
  start('indexer-evm', ['indexer', 'run', '--chain', 'evm']);
  // Six Node processes loading at once take ~30 s on a shared 2-core machine; the deadline is for a crash.
  for (const api of apis) {
    await eventually(`${api} to answer /ready`, async () => (await fetch(`${api}/ready`).then((r) => r.ok).catch(() => false)) || undefined, 120_000, outputs, 250);
  }
});

after(async () => {
  for (const { process } of processes) await process.stop('SIGTERM');
  await hermes?.stop();
  await world?.close();
  await deleteRedisKeys(redisUrl, redisPrefix);
  if (dir) await rm(dir, { recursive: true, force: true });
});

function outputs(): string {
  return processes.map(({ name, process }) => `--- ${name}\n${process.output().slice(-2_000)}`).join('\n');
}

async function call(api: string, path: string, key: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${api}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { id: string; status: string; address: Address } };
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await world.db.pool.query<{ n: string }>(sql, params);
  return Number(rows[0]!.n);
}

describe('two API processes, three worker processes and the indexer on one PostgreSQL and one Redis', () => {
  test('a burst of deposits and spends: one credit per deposit, one execution per spend, verify passes', async () => {
    const [api1, api2] = apis as [string, string];
    const chain = createPublicClient({ transport: http(world.anvil.url) });
    const recipient = world.anvil.accounts[7]!;
    const operatorKey = (await createApiKey(world.db.pool, { role: 'operator' })).key;
    const owner = await createUser(world.db.pool, { nearAccountId: 'scale-owner.testnet' });
    const ownerKey = (await createApiKey(world.db.pool, { role: 'user', userId: owner.id })).key;

    // The wallet is made through one API and its policy set through the other.
    const created = await call(api1, '/v1/wallets', operatorKey, { method: 'POST', body: { id: 'scale-agent', ownerUserId: owner.id } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const wallet = created.body.address;
    const agentKey = (await createApiKey(world.db.pool, { role: 'agent', walletId: 'scale-agent' })).key;
    const policy = await call(api2, '/v1/wallets/scale-agent/policy', ownerKey, { method: 'PUT', body: { rules: [{ id: 'payees', type: 'recipients', allow: [recipient] }] } });
    assert.equal(policy.status, 200, JSON.stringify(policy.body));

    // The burst on chain: the wallet's funding and a deposit to each of `depositsCount` users.
    const depositors = await Promise.all(Array.from({ length: depositsCount }, (_, i) => world.newDepositor(`scale-${i}`)));
    await world.sendEth(wallet, ether);
    for (const [i, depositor] of depositors.entries()) await world.sendEth(depositor.address, 10n ** 16n * BigInt(i + 1));
    await world.mine(3);
    const whileMining = <T>(what: string, check: () => Promise<T | undefined | false>) => mining(world, what, check, outputs, 50_000);
    await whileMining('the wallet funded in the ledger', async () => (await getBalances(world.db.pool, { account: 'wallets:scale-agent:available', asset: 'ETH' }))[0]?.balance === ether);

    // Each spend goes to both APIs at once under one key: one spend, whichever process answers first.
    const answers = await Promise.all(
      Array.from({ length: spendsCount }, (_, i) => {
        const request = { method: 'POST', body: { to: recipient, asset: 'ETH', amount: spendWei.toString() }, headers: { 'idempotency-key': `burst-${i}` } };
        return Promise.all([call(api1, '/v1/wallets/scale-agent/spends', agentKey, request), call(api2, '/v1/wallets/scale-agent/spends', agentKey, request)]);
      }),
    );
    for (const [first, second] of answers) {
      assert.deepEqual([first.status, second.status].sort(), [200, 202], 'one API created the spend, the other replayed it');
      assert.equal(first.body.id, second.body.id);
    }
    const spendIds = answers.map(([first]) => first.body.id);

    const userIds = depositors.map((depositor) => depositor.userId);
    await whileMining('every deposit credited and every spend confirmed', async () =>
      (await count("SELECT count(*) AS n FROM credit_decisions WHERE user_id = ANY($1) AND status = 'credited'", [userIds])) === depositsCount &&
      (await count("SELECT count(*) AS n FROM spends WHERE id = ANY($1) AND status = 'confirmed'", [spendIds])) === spendsCount,
    );

    // Exactly one effect per idempotency key.
    assert.equal(await count("SELECT count(*) AS n FROM journal_entries WHERE kind = 'credit.issued' AND metadata->>'userId' = ANY($1)", [userIds]), depositsCount, 'one credit per deposit');
    assert.equal(await count("SELECT count(*) AS n FROM spends WHERE wallet_id = 'scale-agent'"), spendsCount, 'one spend per idempotency key');
    assert.equal(await count("SELECT count(*) AS n FROM journal_entries WHERE kind = 'spend.hold' AND metadata->>'spendId' = ANY($1)", [spendIds]), spendsCount, 'one hold per spend');
    assert.equal(await count("SELECT count(*) AS n FROM journal_entries WHERE kind = 'spend.settled' AND metadata->>'spendId' = ANY($1)", [spendIds]), spendsCount, 'one settlement per spend');
    assert.equal(await chain.getTransactionCount({ address: wallet }), spendsCount, 'one transaction on chain per spend');
    assert.equal(await chain.getBalance({ address: recipient }) - 10_000n * ether, spendWei * BigInt(spendsCount));

    // The three worker processes all took part in the queues, and nothing is left undone.
    const credits = new Queue('credits', { connection: { url: redisUrl }, prefix: `${redisPrefix}bull` });
    assert.equal(await credits.getWorkersCount(), 3, 'three worker processes serve the credits queue');
    await credits.close();
    assert.equal(await count("SELECT count(*) AS n FROM outbox WHERE completed_at IS NULL AND queue <> 'refills'"), 0, 'no work left behind');
    for (const line of await getTrialBalance(world.db.pool)) assert.equal(line.net, 0n, `trial balance of ${line.asset}`);
    const verify = await world.cli(['verify']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });
});
