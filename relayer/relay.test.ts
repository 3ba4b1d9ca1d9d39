// The relayer against anvil, PostgreSQL and the official Defender client: the SDK sends, lists,
// replaces, cancels and reads transactions that get mined; tokens refresh; 200 concurrent
// sends get gapless nonces; a 429 injected after the first send reached coffer does not make
// a second transaction; stuck transactions are bumped and expired ones NOOPed; every cost is in
// the ledger and the ledger matches the chain.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { Relayer as DefenderRelayer } from '@openzeppelin/defender-sdk-relay-signer-client';
import { concatHex, keccak256, recoverAddress, recoverMessageAddress, toHex, type Address, type Hex } from 'viem';
import { getBalances, getTrialBalance, verifyLedger } from '../ledger/index.ts';
import { eventually } from '../testing/evm-world.ts';
import { monitorPass } from './monitor.ts';
import { relayerAccount } from './relayers.ts';
import { createRelayBed, ether, type RelayBed } from '../testing/relay-bed.ts';

let bed: RelayBed;
let proxy: Server;
let proxyUrl = '';
/** Bodies of POST /relayers/self/txs for which the proxy answers 429 after coffer answered. */
const failAfterForwarding = new Set<string>();
let forwardedSends = 0;

const recipient: Address = '0x00000000000000000000000000000000000c0ffe';

before(async () => {
  bed = await createRelayBed({ accessTtlSeconds: 2 });
  // A proxy in front of coffer, like a load balancer that times out: the request reaches coffer,
  // the client sees a 429 and retries (the official client retries every 4xx but 401/403).
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const upstream = httpRequest(`${bed.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          const text = body.toString();
          if (req.method === 'POST' && req.url === '/relayers/self/txs') forwardedSends += 1;
          if (req.method === 'POST' && req.url === '/relayers/self/txs' && failAfterForwarding.delete(text)) {
            res.writeHead(429, 'Too Many Requests', { 'Content-Type': 'application/json' }).end('{"message":"slow down"}');
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers).end(Buffer.concat(parts));
        });
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  proxyUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  process.env.DEFENDER_API_URL = proxyUrl;
});

after(async () => {
  if (proxy) await new Promise<void>((resolve) => proxy.close(() => resolve()));
  await bed?.close();
});

// As Defender's README writes it; the SDK's typings demand an authConfig its code defaults.
const sdk = () => new DefenderRelayer({ apiKey: bed.apiKey, apiSecret: bed.apiSecret } as ConstructorParameters<typeof DefenderRelayer>[0]);
type Tx = { transactionId: string; hash: string; nonce: number; status: string; maxFeePerGas?: number; maxPriorityFeePerGas?: number; gasLimit: number };
const confirmed = (client: DefenderRelayer, id: string) =>
  eventually(`transaction ${id} confirmed`, async () => {
    const tx = (await client.getTransaction(id)) as unknown as Tx;
    return ['confirmed', 'failed', 'expired'].includes(tx.status) ? tx : undefined;
  }, 30_000);
const rows = async (sql: string, params: unknown[] = []) => (await bed.db.pool.query<Record<string, unknown>>(sql, params)).rows;

describe('the official Defender client against coffer', () => {
  test('reads the relayer, sends, reads by id and nonce, lists, signs and calls', async () => {
    const client = sdk();
    const relayer = (await client.getRelayer()) as unknown as { address: string; relayerId: string; paused: boolean };
    assert.equal(relayer.address, bed.relayer.address);
    assert.equal(relayer.relayerId, bed.relayer.id);
    const sent = (await client.sendTransaction({ to: recipient, value: '0x5', data: '0x', speed: 'fast', gasLimit: 21_000 })) as unknown as Tx;
    assert.match(sent.transactionId, /^[0-9a-f-]{36}$/);
    assert.equal(sent.nonce, 0);
    const done = await confirmed(client, sent.transactionId);
    assert.equal(done.status, 'confirmed');
    assert.equal(await bed.client.getBalance({ address: recipient }), 5n);
    const byNonce = (await client.getTransactionByNonce(0)) as unknown as Tx;
    assert.equal(byNonce.transactionId, sent.transactionId);
    const list = (await client.listTransactions({ status: 'mined', limit: 5, sort: 'desc' })) as unknown as { items: Tx[] };
    assert.ok(list.items.some((t) => t.transactionId === sent.transactionId));
    const status = (await client.getRelayerStatus()) as unknown as { nonce: number; numberOfPendingTransactions: number };
    assert.equal(status.nonce, 1);

    const message = toHex('coffer relays');
    const signed = (await client.sign({ message })) as unknown as { sig: Hex };
    assert.equal(await recoverMessageAddress({ message: { raw: message }, signature: signed.sig }), bed.relayer.address);
    const domainSeparator = keccak256(toHex('domain'));
    const hashStructMessage = keccak256(toHex('struct'));
    const typed = (await client.signTypedData({ domainSeparator, hashStructMessage })) as unknown as { sig: Hex };
    assert.equal(await recoverAddress({ hash: keccak256(concatHex(['0x1901', domainSeparator, hashStructMessage])), signature: typed.sig }), bed.relayer.address);
    const chainId = await client.call({ method: 'eth_chainId', params: [] });
    assert.equal(Number((chainId as { result: string }).result), bed.relayer.chainId);
  });

  test('access tokens expire and the client refreshes them without the caller noticing', async () => {
    const client = sdk();
    await client.getRelayer();
    const before = Number((await rows(`SELECT count(*) AS n FROM relayer_tokens WHERE kind = 'access'`))[0]!.n);
    // The relay's clock moves past the token's 2 s TTL; nothing sleeps.
    bed.ctx.now = () => Date.now() + 2_300;
    try {
      // Straight at coffer: an expired token is a 401 whose reason phrase is "Unauthorized".
      const raw = await fetch(`${bed.url}/relayers/self`, { headers: { 'X-Api-Key': bed.apiKey, Authorization: 'Bearer not-a-token' } });
      assert.equal(raw.status, 401);
      assert.equal(raw.statusText, 'Unauthorized');
      const relayer = (await client.getRelayer()) as unknown as { address: string };
      assert.equal(relayer.address, bed.relayer.address);
      const after = Number((await rows(`SELECT count(*) AS n FROM relayer_tokens WHERE kind = 'access'`))[0]!.n);
      assert.equal(after, before + 1, 'one refresh');
    } finally {
      delete bed.ctx.now;
    }
  });

  test('replace by id and by nonce, and cancel, while the chain does not mine', async () => {
    const client = sdk();
    bed.monitor.paused = true;
    await bed.client.request({ method: 'evm_setAutomine' as never, params: [false] as never });
    try {
      const first = (await client.sendTransaction({ to: recipient, value: '0x7', speed: 'average', gasLimit: 21_000 })) as unknown as Tx;
      const replaced = (await client.replaceTransactionById(first.transactionId, { to: recipient, value: '0x8', speed: 'fastest', gasLimit: 21_000 })) as unknown as Tx;
      assert.equal(replaced.transactionId, first.transactionId);
      assert.equal(replaced.nonce, first.nonce);
      assert.notEqual(replaced.hash, first.hash);
      assert.ok(BigInt(replaced.maxFeePerGas!) >= (BigInt(first.maxFeePerGas!) * 11n) / 10n, 'a replacement pays ≥ 10 % more');
      const second = (await client.sendTransaction({ to: recipient, value: '0x9', speed: 'fast', gasLimit: 21_000 })) as unknown as Tx;
      const byNonce = (await client.replaceTransactionByNonce(second.nonce, { to: recipient, value: '0xa', maxFeePerGas: second.maxFeePerGas! * 2, maxPriorityFeePerGas: second.maxPriorityFeePerGas! * 2, gasLimit: 21_000 })) as unknown as Tx;
      assert.equal(byNonce.transactionId, second.transactionId);
      const third = (await client.sendTransaction({ to: recipient, value: '0xb', speed: 'fast', gasLimit: 21_000 })) as unknown as Tx;
      await client.cancelTransactionById(third.transactionId);
      const balance = await bed.client.getBalance({ address: recipient });
      await bed.client.request({ method: 'evm_mine' as never, params: [] as never });
      bed.monitor.paused = false;
      assert.equal((await confirmed(client, first.transactionId)).status, 'confirmed');
      assert.equal((await confirmed(client, second.transactionId)).status, 'confirmed');
      const cancelled = await confirmed(client, third.transactionId);
      assert.equal(cancelled.status, 'failed');
      // Only the replacements' values arrived: 8 + 10; the cancelled 11 never left.
      assert.equal(await bed.client.getBalance({ address: recipient }), balance + 18n);
    } finally {
      await bed.client.request({ method: 'evm_setAutomine' as never, params: [true] as never });
      bed.monitor.paused = false;
    }
  });

  test('a send the relayer cannot pay is refused, and nothing is created', async () => {
    const client = sdk();
    const before = Number((await rows('SELECT count(*) AS n FROM relayer_transactions'))[0]!.n);
    const refused = (error: { response?: { status?: number; data?: { code?: string } } }) => error.response?.status === 400 && error.response.data?.code === 'insufficient_funds';
    await assert.rejects(client.sendTransaction({ to: recipient, value: (10_000n * ether).toString(), speed: 'fast', gasLimit: 21_000 }), refused);
    assert.equal(Number((await rows('SELECT count(*) AS n FROM relayer_transactions'))[0]!.n), before);
  });
});

describe('nonces under load', () => {
  test('200 concurrent sends from 4 clients: nonces gapless and in order, none lost, none duplicated', async () => {
    const clients = [sdk(), sdk(), sdk(), sdk()];
    const start = Number((await rows('SELECT next_nonce FROM relayers WHERE id = $1', [bed.relayer.id]))[0]!.next_nonce);
    const balance = await bed.client.getBalance({ address: recipient });
    const sends = Array.from({ length: 200 }, (_, i) => clients[i % 4]!.sendTransaction({ to: recipient, value: `0x${(1000 + i).toString(16)}`, speed: 'fast', gasLimit: 21_000 }) as unknown as Promise<Tx>);
    const sent = await Promise.all(sends);
    const nonces = sent.map((t) => t.nonce).sort((a, b) => a - b);
    assert.deepEqual(nonces, Array.from({ length: 200 }, (_, i) => start + i));
    assert.equal(new Set(sent.map((t) => t.transactionId)).size, 200);
    await eventually('all 200 confirmed', async () => Number((await rows(`SELECT count(*) AS n FROM relayer_transactions WHERE nonce >= $1 AND status = 'confirmed'`, [start]))[0]!.n) === 200, 60_000);
    assert.equal(await bed.client.getTransactionCount({ address: bed.relayer.address }), start + 200);
    const expected = Array.from({ length: 200 }, (_, i) => BigInt(1000 + i)).reduce((a, b) => a + b, 0n);
    assert.equal(await bed.client.getBalance({ address: recipient }), balance + expected);
  });

  test('a 429 on the first attempt after coffer took the send: the client retries, one transaction exists', async () => {
    const client = sdk();
    const payload = { to: recipient, value: '0x77777', data: '0x', speed: 'fast' as const, gasLimit: 21_000, validUntil: new Date(Date.now() + 3_600_000).toISOString() };
    failAfterForwarding.add(JSON.stringify(payload));
    const forwardedBefore = forwardedSends;
    // The official client throws the first error even though its retry succeeded (research §1.6).
    await assert.rejects(client.sendTransaction(payload), /429|Too Many/);
    assert.equal(forwardedSends - forwardedBefore, 2, 'the client sent twice');
    const made = await rows(`SELECT id, status FROM relayer_transactions WHERE value = $1`, [0x77777]);
    assert.equal(made.length, 1, 'one transaction for two attempts');
    const done = await confirmed(client, made[0]!.id as string);
    assert.equal(done.status, 'confirmed');
  });
});

describe('the lifecycle the monitor drives', () => {
  test('a stuck transaction is resubmitted with ≥ 10 % more, and one past validUntil is replaced by a NOOP', async () => {
    bed.monitor.paused = true;
    await bed.client.request({ method: 'evm_setAutomine' as never, params: [false] as never });
    const saved = bed.ctx.resubmitAfterMs;
    // The monitor's clock is driven, not slept through: each step moves it past a deadline.
    let clockOffsetMs = 0;
    // A pass answers null while another (the bed's own monitor, just paused) still holds the lock.
    const passNow = async () => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const pass = await monitorPass(bed.ctx);
        if (pass) return pass;
        if (Date.now() > deadline) throw new Error('no monitor pass could take the lock within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    bed.ctx.now = () => Date.now() + clockOffsetMs;
    try {
      bed.ctx.resubmitAfterMs = { fast: 200 };
      const client = sdk();
      const stuck = (await client.sendTransaction({ to: recipient, value: '0x3', speed: 'fast', gasLimit: 21_000 })) as unknown as Tx;
      await passNow(); // broadcast
      clockOffsetMs += 300;
      const pass = await passNow();
      assert.equal(pass?.resubmitted, 1);
      const bumped = (await client.getTransaction(stuck.transactionId)) as unknown as Tx;
      assert.notEqual(bumped.hash, stuck.hash);
      assert.ok(BigInt(bumped.maxFeePerGas!) >= (BigInt(stuck.maxFeePerGas!) * 11n) / 10n);
      assert.ok(BigInt(bumped.maxPriorityFeePerGas!) >= (BigInt(stuck.maxPriorityFeePerGas!) * 11n) / 10n);

      const expiring = (await client.sendTransaction({ to: recipient, value: '0x4', speed: 'fast', gasLimit: 21_000, validUntil: new Date(bed.ctx.now() + 1_500).toISOString() })) as unknown as Tx;
      await passNow();
      clockOffsetMs += 1_700;
      const noopPass = await passNow();
      assert.equal(noopPass?.noops, 1);
      const [row] = await rows('SELECT noop_reason, to_address, value::text, attempts FROM relayer_transactions WHERE id = $1', [expiring.transactionId]);
      assert.equal(row!.noop_reason, 'expired');
      assert.equal((row!.to_address as string).toLowerCase(), bed.relayer.address.toLowerCase());
      assert.equal(row!.value, '0');
      await bed.client.request({ method: 'evm_mine' as never, params: [] as never });
      await eventually('both settled', async () => {
        await monitorPass(bed.ctx);
        const states = await rows('SELECT status FROM relayer_transactions WHERE id = ANY($1::uuid[]) ORDER BY nonce', [[stuck.transactionId, expiring.transactionId]]);
        return states.every((s) => s.status !== 'submitted' && s.status !== 'inmempool' && s.status !== 'mined' && s.status !== 'sent') ? states : undefined;
      });
      assert.equal(((await client.getTransaction(stuck.transactionId)) as unknown as Tx).status, 'confirmed');
      assert.equal(((await client.getTransaction(expiring.transactionId)) as unknown as Tx).status, 'expired');
    } finally {
      bed.ctx.resubmitAfterMs = saved;
      delete bed.ctx.now;
      await bed.client.request({ method: 'evm_setAutomine' as never, params: [true] as never });
      bed.monitor.paused = false;
    }
  });
});

describe("seed 002's relay service", () => {
  test('POST /relay, GET /relay/:id and GET /relayer with X-Api-Key and X-Api-Secret', async () => {
    const headers = { 'Content-Type': 'application/json', 'X-Api-Key': bed.apiKey, 'X-Api-Secret': bed.apiSecret };
    const response = await fetch(`${bed.url}/relay`, { method: 'POST', headers, body: JSON.stringify({ to: recipient, data: '0x', value: '1', gasLimit: 21000, speed: 'fast' }) });
    assert.equal(response.status, 201);
    const created = (await response.json()) as { transactionId: string; hash: string; status: string };
    assert.equal(created.status, 'pending');
    const status = await eventually('relay mined', async () => {
      const body = (await (await fetch(`${bed.url}/relay/${created.transactionId}`, { headers })).json()) as { status: string };
      return body.status === 'confirmed' ? body : undefined;
    });
    assert.equal(status.status, 'confirmed');
    const relayer = (await (await fetch(`${bed.url}/relayer`, { headers })).json()) as { address: string; balance: string };
    assert.equal(relayer.address, bed.relayer.address);
    assert.equal(BigInt(relayer.balance), await bed.client.getBalance({ address: bed.relayer.address }));
    const wrong = await fetch(`${bed.url}/relayer`, { headers: { ...headers, 'X-Api-Secret': 'wrong' } });
    assert.equal(wrong.status, 401);
  });
});

describe('the books', () => {
  test('every relayed transaction is in the ledger, and the ledger matches the chain', async () => {
    await eventually('nothing in flight', async () => Number((await rows(`SELECT count(*) AS n FROM relayer_transactions WHERE status IN ('pending', 'sent', 'submitted', 'inmempool', 'mined')`))[0]!.n) === 0, 30_000);
    const account = relayerAccount(bed.relayer.address);
    const ledger = (await getBalances(bed.db.pool, { account, asset: 'ETH' }))[0]!.balance;
    assert.equal(ledger, await bed.client.getBalance({ address: bed.relayer.address }), 'relayer: ledger = chain');
    const fees = await rows(`SELECT coalesce(sum(fee), 0)::text AS total, count(*) AS n FROM relayer_transactions`);
    const booked = await rows(`SELECT count(*) AS n FROM journal_entries WHERE kind = 'relay.settled'`);
    assert.equal(Number(booked[0]!.n), Number(fees[0]!.n), 'one entry per relayed transaction');
    for (const line of await getTrialBalance(bed.db.pool)) assert.equal(line.debits, line.credits, `trial balance of ${line.asset}`);
    const report = await verifyLedger(bed.db.pool);
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok)));
  });
});
