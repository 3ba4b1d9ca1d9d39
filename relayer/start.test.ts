// The relayer as production runs it: the CLI creates the treasury hot wallet and a relayer,
// books the treasury's funding, and `coffer start` (API + workers as a child) does the rest —
// the refill pass funds the relayer, the official Defender client sends through the API, the
// workers' monitor confirms and books it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Relayer as DefenderRelayer } from '@openzeppelin/defender-sdk-relay-signer-client';
import { Redis } from 'ioredis';
import { createPublicClient, createWalletClient, http, type Address, type Hex } from 'viem';
import { createApiKey } from '../access/index.ts';
import { freePort } from '../devnets/index.ts';
import { createEvmWorld, eventually, type EvmWorld, type IndexerProcess } from '../testing/evm-world.ts';
import { getBalances } from '../ledger/index.ts';
import { relayerAccount } from './relayers.ts';

const ether = 10n ** 18n;
let world: EvmWorld;
let coffer: IndexerProcess | undefined;
let dir = '';
let api = '';
let redisPrefix = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-relay-start-'));
  world = await createEvmWorld({ finalityDepth: 1 });
  const apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  redisPrefix = `${world.db.name}:`;
  Object.assign(world.env, {
    PORT: String(apiPort),
    REDIS_KEY_PREFIX: redisPrefix,
    COFFER_KEYSTORE_DIR: join(dir, 'keys'),
    COFFER_KEYSTORE_PASSPHRASE: 'relay-start-passphrase',
    WEBHOOK_ROOT_FILE: join(dir, 'webhook-root'),
    RELAYER_CONFIRMATIONS: '1',
    RELAYER_POLL_INTERVAL_MS: '200',
    REFILL_INTERVAL_SECONDS: '1',
    RELAYER_FUND_BELOW_WEI: (1n * ether).toString(),
    RELAYER_FUND_TO_WEI: (3n * ether).toString(),
    LOG_LEVEL: 'warn',
  });
});

after(async () => {
  await coffer?.stop('SIGTERM');
  await world?.close();
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('coffer relayers create + coffer start: refilled, relayed, confirmed and booked', async () => {
  const created = await world.cli(['treasury', 'create']);
  assert.equal(created.code, 0, created.stderr);
  const treasury = created.stdout.trim() as Address;
  const hash: Hex = await createWalletClient({ account: world.anvil.accounts[2]!, transport: http(world.anvil.url) }).sendTransaction({ to: treasury, value: 20n * ether, chain: null });
  await eventually('the funding mined', async () => (await world.anvil.rpc<unknown>('eth_getTransactionReceipt', [hash])) ?? undefined);
  const recorded = await world.cli(['treasury', 'record-funding', '--tx', hash]);
  assert.equal(recorded.code, 0, recorded.stderr);
  assert.equal((await world.cli(['treasury', 'record-funding', '--tx', hash])).code, 0, 'recording twice is one entry');
  const relayer = await world.cli(['relayers', 'create', '--chain', 'ethereum', '--json']);
  assert.equal(relayer.code, 0, relayer.stderr);
  const { relayerId, address, apiKey, apiSecret } = JSON.parse(relayer.stdout) as { relayerId: string; address: Address; apiKey: string; apiSecret: string };
  assert.match(relayerId, /^rl_/);
  const bad = await world.cli(['relayers', 'create', '--chain', 'bitcoin']);
  assert.equal(bad.code, 2);

  coffer = world.startCoffer(['start'], {});
  await eventually('the API to answer', async () => (await fetch(`${api}/health`).then((r) => r.ok).catch(() => false)) || undefined, 30_000, () => coffer!.output());
  const client = createPublicClient({ transport: http(world.anvil.url) });
  await eventually('the refill pass funds the relayer', async () => ((await client.getBalance({ address })) === 3n * ether ? true : undefined), 30_000, () => coffer!.output());
  // The relayer spends what the ledger says it has, so a send waits for the refill to be booked
  // (its confirmation), not just mined.
  await eventually('the ledger books the refill', async () => ((await getBalances(world.db.pool, { account: relayerAccount(address), asset: 'ETH' }))[0]?.balance === 3n * ether ? true : undefined), 30_000, () => coffer!.output());

  process.env.DEFENDER_API_URL = `${api}/`;
  const sdk = new DefenderRelayer({ apiKey, apiSecret } as ConstructorParameters<typeof DefenderRelayer>[0]);
  const sent = (await sdk.sendTransaction({ to: world.anvil.accounts[7]!, value: '0x64', speed: 'fast', gasLimit: 21_000 })) as unknown as { transactionId: string };
  const done = await eventually('confirmed by the workers', async () => {
    const tx = (await sdk.getTransaction(sent.transactionId)) as unknown as { status: string };
    return tx.status === 'confirmed' ? tx : undefined;
  }, 30_000, () => coffer!.output());
  assert.equal(done.status, 'confirmed');
  const onChain = await client.getBalance({ address });
  await eventually('the ledger books the gas', async () => ((await getBalances(world.db.pool, { account: relayerAccount(address), asset: 'ETH' }))[0]?.balance === onChain ? true : undefined));

  const operator = (await createApiKey(world.db.pool, { role: 'operator' })).key;
  const refills = (await (await fetch(`${api}/v1/admin/refills`, { headers: { Authorization: `Bearer ${operator}` } })).json()) as { treasury: { address: string }; targets: { relayerId: string | null; fundTo: string }[] };
  assert.equal(refills.treasury.address, treasury);
  assert.equal(refills.targets.find((t) => t.relayerId === relayerId)?.fundTo, (3n * ether).toString());
});
