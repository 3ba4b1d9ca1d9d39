// An agent wallet end to end, as in production: `coffer start` (API, projections, indexer and
// workers as child processes) on anvil, PostgreSQL and Redis. The wallet is funded on chain and
// the indexer books it; the agent spends over HTTP; the workers decide, sign (emulator),
// broadcast, confirm and settle; a webhook receiver that fails once sees signed, retried events.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createPublicClient, erc20Abi, http, type Address } from 'viem';
import { createApiKey } from '../access/index.ts';
import { freePort } from '../devnets/index.ts';
import { createEvmWorld, eventually, tokenAsset, whileMining as mining, type EvmWorld, type IndexerProcess } from '../testing/evm-world.ts';
import { getBalances, getTrialBalance } from '../ledger/index.ts';
import { ChainSignaturesEmulator, Keystore } from '../signer/index.ts';
import { createUser } from '../users/index.ts';

const passphrase = 'agent-test-passphrase';
const ether = 10n ** 18n;
let world: EvmWorld;
let coffer: IndexerProcess;
let dir: string;
let api: string;
let redisPrefix: string;
let operatorKey: string;
let ownerKey: string;
let ownerId: string;
const deliveries: { eventId: string; type: string; status: string; valid: boolean; answered: number }[] = [];
let receiver: Server;
let receiverUrl: string;
let webhookSecret = '';
const failedOnce = new Set<string>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-agent-'));
  const emulator = await ChainSignaturesEmulator.open(new Keystore({ directory: join(dir, 'keys'), passphrase, kdf: { m: 256, t: 1, p: 1 } }));
  world = await createEvmWorld({
    finalityDepth: 2,
    derivation: { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots: { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') } },
  });
  // A webhook receiver that answers 500 to the first delivery of each event, then 204.
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const eventId = String(request.headers['coffer-event-id']);
      const [t, v1] = String(request.headers['coffer-signature']).split(',').map((part) => part.split('=')[1] ?? '');
      const expected = createHmac('sha256', webhookSecret).update(`${t}.${body}`).digest();
      const valid = v1!.length === 64 && timingSafeEqual(expected, Buffer.from(v1!, 'hex'));
      const parsed = JSON.parse(body) as { type: string; data: { status: string } };
      const answered = failedOnce.has(eventId) ? 204 : 500;
      failedOnce.add(eventId);
      deliveries.push({ eventId, type: parsed.type, status: parsed.data.status, valid, answered });
      response.writeHead(answered).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${port}/hooks/coffer`;

  const apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  redisPrefix = `${world.db.name}:`;
  coffer = world.startCoffer(['start'], {
    PORT: String(apiPort),
    REDIS_KEY_PREFIX: redisPrefix,
    COFFER_KEYSTORE_DIR: join(dir, 'keys'),
    COFFER_KEYSTORE_PASSPHRASE: passphrase,
    WEBHOOK_ROOT_FILE: join(dir, 'webhook-root'),
    SPEND_CONFIRMATIONS: '2',
    CREDIT_ASSET_PRICING: `${tokenAsset}=usd:1`,
    JOB_BACKOFF_MS: '200',
    OUTBOX_POLL_INTERVAL_MS: '200',
    LOG_LEVEL: 'warn',
  });
  await eventually('the API to answer', async () => (await fetch(`${api}/health`).then((r) => r.ok).catch(() => false)) || undefined, 30_000, () => coffer.output());
  operatorKey = (await createApiKey(world.db.pool, { role: 'operator' })).key;
  const owner = await createUser(world.db.pool, { nearAccountId: 'treasurer.testnet' });
  ownerId = owner.id;
  ownerKey = (await createApiKey(world.db.pool, { role: 'user', userId: owner.id })).key;
});

after(async () => {
  // SIGTERM first: `coffer start` stops its workers and indexer children on the way out.
  await coffer?.stop('SIGTERM');
  await world?.close();
  receiver?.closeAllConnections();
  receiver?.close();
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const keys = await redis.keys(`${redisPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: Record<string, unknown> & { id: string; status: string; code: string | null; address: Address; webhookSecret: string };
}

async function call(path: string, key: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await fetch(`${api}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const whileMining = <T>(what: string, check: () => Promise<T | undefined | false>) => mining(world, what, check, () => coffer.output().slice(-6_000));

const ledger = async (account: string, asset: string) => (await getBalances(world.db.pool, { account, asset }))[0]?.balance ?? 0n;

describe('an agent wallet, end to end', () => {
  test('funded on chain, it spends ETH and a token within its policy; the rest is refused; the ledger matches the chain', async () => {
    const chain = createPublicClient({ transport: http(world.anvil.url) });
    const recipient = world.anvil.accounts[7]!;

    const created = await call('/v1/wallets', operatorKey, { method: 'POST', body: { id: 'agent-1', ownerUserId: ownerId, webhookUrl: receiverUrl } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    webhookSecret = created.body.webhookSecret;
    const wallet = created.body.address;
    const agentKey = (await createApiKey(world.db.pool, { role: 'agent', walletId: 'agent-1' })).key;
    const policy = await call('/v1/wallets/agent-1/policy', ownerKey, {
      method: 'PUT',
      body: {
        timeZone: 'Europe/Berlin',
        rules: [
          { id: 'cap', type: 'per_tx_cap', asset: 'ETH', max: (2n * ether / 10n).toString() },
          { id: 'daily', type: 'window_limit', asset: 'ETH', max: (3n * ether / 10n).toString(), window: { calendar: 'day' } },
          { id: 'payees', type: 'recipients', allow: [recipient] },
        ],
      },
    });
    assert.equal(policy.status, 200);

    // Funding: plain transfers on chain, seen and confirmed by the indexer.
    await world.sendEth(wallet, ether);
    await world.sendToken(wallet, 20_000_000n);
    await world.mine(3);
    await whileMining('the wallet funded in the ledger', async () => (await ledger('wallets:agent-1:available', 'ETH')) === ether && (await ledger(`wallets:agent-1:available`, tokenAsset)) === 20_000_000n);
    const choco = await world.db.pool.query("SELECT 1 FROM outbox WHERE queue = 'credits'");
    assert.equal(choco.rowCount, 0, 'money sent to a wallet is not credited as a deposit');

    const spend = (key: string, body: unknown) => call('/v1/wallets/agent-1/spends', agentKey, { method: 'POST', body, headers: { 'idempotency-key': key } });
    const ethSpend = await spend('pay-1', { to: recipient, asset: 'ETH', amount: (ether / 10n).toString() });
    assert.equal(ethSpend.status, 202);
    const tokenSpend = await spend('pay-2', { to: recipient, asset: tokenAsset, amount: '5000000' });
    const tooBig = await spend('pay-3', { to: recipient, asset: 'ETH', amount: (ether / 4n).toString() });
    const stranger = await spend('pay-4', { to: world.anvil.accounts[6], asset: 'ETH', amount: '1000' });

    const settled = async (id: string) => {
      const s = await call(`/v1/spends/${id}`, agentKey);
      return ['confirmed', 'rejected', 'failed', 'expired'].includes(s.body.status) ? s.body : undefined;
    };
    const [ethDone, tokenDone, bigDone, strangerDone] = [
      await whileMining('the ETH spend settled', () => settled(ethSpend.body.id)),
      await whileMining('the token spend settled', () => settled(tokenSpend.body.id)),
      await whileMining('the big spend decided', () => settled(tooBig.body.id)),
      await whileMining('the spend to a stranger decided', () => settled(stranger.body.id)),
    ];
    assert.equal(ethDone.status, 'confirmed', JSON.stringify(ethDone));
    assert.equal(tokenDone.status, 'confirmed', JSON.stringify(tokenDone));
    assert.equal(bigDone.code, 'per_tx_cap_exceeded');
    assert.equal(strangerDone.code, 'recipient_not_allowed');

    // The chain: the recipient got exactly what was allowed; the wallet sent exactly two transactions.
    assert.equal(await chain.readContract({ address: world.contracts.testToken, abi: erc20Abi, functionName: 'balanceOf', args: [recipient] }), 5_000_000n);
    assert.equal(await chain.getTransactionCount({ address: wallet }), 2);
    // The ledger: what the wallet holds on chain is what the ledger says it holds; gas went to fees.
    const onChainEth = await chain.getBalance({ address: wallet });
    assert.equal((await ledger('wallets:agent-1:available', 'ETH')) + (await ledger('wallets:agent-1:held', 'ETH')), onChainEth);
    assert.equal(await ledger('wallets:agent-1:held', 'ETH'), 0n);
    assert.equal(await ledger('wallets:agent-1:available', tokenAsset), 15_000_000n);
    const fees = BigInt(ethDone.fee as string) + BigInt(tokenDone.fee as string);
    assert.equal(ether - ether / 10n - fees, onChainEth);
    assert.equal(await ledger('fees:ethereum', 'ETH'), fees);
    for (const line of await getTrialBalance(world.db.pool)) assert.equal(line.net, 0n, `trial balance of ${line.asset}`);

    // What is left today: 0.3 − 0.1 ETH.
    const view = await call('/v1/wallets/agent-1', agentKey);
    const daily = (view.body.budgets as { rule: string; remaining: string }[]).find((b) => b.rule === 'daily')!;
    assert.equal(daily.remaining, (2n * ether / 10n).toString());

    // Webhooks: every status change of the ETH spend, signed, and each retried after the receiver's 500.
    const forEth = await eventually('webhooks for the ETH spend', () => {
      const got = deliveries.filter((d) => d.eventId.startsWith(`evt_${ethSpend.body.id}_`));
      return Promise.resolve(new Set(got.filter((d) => d.answered === 204).map((d) => d.status)).size === 3 ? got : undefined);
    });
    assert.deepEqual([...new Set(forEth.map((d) => d.status))].sort(), ['allowed', 'confirmed', 'submitted']);
    assert.ok(forEth.every((d) => d.valid), 'every delivery carries a valid signature');
    for (const status of ['allowed', 'submitted', 'confirmed']) {
      assert.deepEqual(forEth.filter((d) => d.status === status).map((d) => d.answered), [500, 204]);
    }

    const verify = await world.cli(['verify']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const replay = await world.cli(['projections', 'replay', 'spend-windows']);
    assert.equal(replay.code, 0, replay.stdout + replay.stderr);
    assert.match(replay.stdout, /spend-windows: replayed through entry \d+: identical to live/);
  });
});
