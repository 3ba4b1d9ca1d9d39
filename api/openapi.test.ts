// /openapi.json shows every answer: each 2xx response of each operation has a schema, and real
// answers of a running app match the schema the document names for them, so a serializer that
// drifts from its documentation (a field added, renamed, retyped) fails here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { silentLogger } from '../infra/index.ts';
import { catchUp, depositsProjection, LedgerWriter } from '../ledger/index.ts';
import { ChainSignaturesEmulator, rootKeys } from '../signer/index.ts';
import { createRelayBed, type RelayBed } from '../testing/relay-bed.ts';
import { createApiKey } from '../access/index.ts';
import type { SponsorContext } from '../sponsor/index.ts';
import { inMemorySigner, unsignedUserOperation } from '../testing/user-operations.ts';
import { createApp } from './index.ts';
import { openApiDocument } from './openapi.ts';
import { responseSchemas, type ResponseName } from './responses.ts';

type Operation = { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> };
const document = openApiDocument();
const paths = document.paths as unknown as Record<string, Record<string, Operation>>;
const componentPrefix = '#/components/schemas/';

/** The zod schema behind the component the document names for this answer. */
function documentedSchema(method: string, path: string, status: number): z.ZodType {
  const operation = paths[path]?.[method];
  assert.ok(operation, `${method.toUpperCase()} ${path} is in /openapi.json`);
  const ref = operation.responses[String(status)]?.content?.['application/json']?.schema?.$ref;
  assert.ok(ref !== undefined && ref.startsWith(componentPrefix), `${method.toUpperCase()} ${path} ${status} names a schema`);
  const name = ref.slice(componentPrefix.length) as ResponseName;
  assert.ok(name in responseSchemas, `${name} is one of responses.ts`);
  return responseSchemas[name];
}

/** Asserts the status and that the body is what the document says this answer is; returns the body. */
async function documented<T>(response: Response, method: string, path: string, status = 200): Promise<T> {
  const text = await response.text();
  assert.equal(response.status, status, `${method.toUpperCase()} ${path}: ${text.slice(0, 500)}`);
  const body: unknown = JSON.parse(text);
  const parsed = documentedSchema(method, path, status).safeParse(body);
  assert.ok(parsed.success, `${method.toUpperCase()} ${path} ${status} drifted from /openapi.json: ${parsed.error?.message}\n${text.slice(0, 1_000)}`);
  return body as T;
}

describe('/openapi.json', () => {
  test('every 2xx response of every operation has a schema, and every response $ref resolves', () => {
    const schemas = document.components.schemas as Record<string, object>;
    let answers = 0;
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (!status.startsWith('2')) continue;
          const where = `${method.toUpperCase()} ${path} ${status}`;
          const media = Object.entries(response.content ?? {});
          assert.ok(media.length > 0, `${where} has content`);
          for (const [type, { schema }] of media) {
            assert.ok(schema, `${where} ${type} has a schema`);
            if (type !== 'application/json') continue;
            assert.ok(schema.$ref !== undefined && schema.$ref.startsWith(componentPrefix), `${where} refers to a component`);
            const name = schema.$ref.slice(componentPrefix.length);
            assert.ok(schemas[name], `${where}: ${schema.$ref} exists`);
            assert.ok(name in responseSchemas, `${where}: ${name} comes from responses.ts`);
            answers += 1;
          }
        }
      }
    }
    assert.ok(answers >= 45, `${answers} JSON answers described`);
    // Components refer to each other, never to $defs of a document they are no longer in.
    for (const name of Object.keys(responseSchemas)) {
      const text = JSON.stringify(schemas[name]);
      for (const [, target] of text.matchAll(/"\$ref":"([^"]+)"/g)) assert.ok(schemas[target!.slice(componentPrefix.length)], `${name}: ${target} exists`);
    }
  });

  test('amounts are decimal strings and times ISO strings in the schema', () => {
    type Property = { type?: unknown; pattern?: string; format?: string; anyOf?: Property[] };
    const schemas = document.components.schemas as unknown as Record<string, { properties: Record<string, Property> }>;
    const posting = schemas.Posting!.properties.amount!;
    assert.equal(posting.type, 'string');
    assert.ok(new RegExp(posting.pattern!).test('-123456789012345678901234567890'));
    assert.ok(!new RegExp(posting.pattern!).test('1.5'));
    assert.equal(schemas.JournalEntry!.properties.effectiveAt!.format, 'date-time');
    assert.deepEqual(schemas.JournalEntry!.properties.reverses!.anyOf?.map((p) => [p.type, p.pattern]), [['string', posting.pattern], ['null', undefined]], 'a nullable id: a decimal string or null');
  });

  test('a field the schema does not name is drift', () => {
    const balance = { account: 'custody:ethereum:0xabc', asset: 'ETH', balance: '1', formatted: '0.000000000000000001' };
    assert.ok(responseSchemas.Balance.safeParse(balance).success);
    assert.ok(!responseSchemas.Balance.safeParse({ ...balance, extra: true }).success);
    assert.ok(!responseSchemas.Balance.safeParse({ ...balance, balance: 1 }).success, 'a JSON number is not an amount');
  });
});

describe('the ledger, users and wallets answer as documented', () => {
  let db: TestDatabase;
  let writer: LedgerWriter;
  let app: ReturnType<typeof createApp>;
  let operator: string;
  const emulator = new ChainSignaturesEmulator({ secp256k1: 0x1234567890abcdefn, ed25519: 0xfedcba0987654321n });
  const roots = { secp256k1: emulator.rootKey('secp256k1'), ed25519: emulator.rootKey('ed25519') };

  before(async () => {
    db = await createTestDatabase();
    writer = new LedgerWriter({ pool: db.pool });
    app = createApp({
      pool: db.pool,
      writer,
      logger: silentLogger,
      derivation: { nearNetwork: 'testnet', bitcoinNetwork: 'regtest', roots },
      wallets: { keys: { nearNetwork: 'testnet', secp256k1Root: rootKeys.testnet.secp256k1, predecessor: 'coffer.testnet' }, webhookRoot: Buffer.alloc(32, 7) },
    });
    operator = (await createApiKey(db.pool, { role: 'operator' })).key;
  });
  after(async () => {
    await writer.close();
    await db.drop();
  });

  const call = (path: string, init: RequestInit & { key?: string } = {}) =>
    app.request(path, { ...init, headers: { authorization: `Bearer ${init.key ?? operator}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });

  test('health and readiness; /docs names each answer\'s shape', async () => {
    const docs = await (await call('/docs')).text();
    assert.ok(docs.includes('201 → User') && docs.includes('200 → JournalEntryPage'), 'the docs page names the answers');
    await documented(await call('/health'), 'get', '/health');
    await documented(await call('/ready'), 'get', '/ready');
  });

  test('a user, deposit addresses, a deposit, the user\'s balances', async () => {
    const user = await documented<{ id: string }>(await call('/v1/users', { method: 'POST', body: JSON.stringify({ nearAccountId: 'openapi.coffer.testnet' }) }), 'post', '/v1/users', 201);
    await documented(await call(`/v1/users/${user.id}`), 'get', '/v1/users/{id}');
    for (const chain of ['bitcoin', 'near']) await documented(await call(`/v1/users/${user.id}/deposit-addresses/${chain}`), 'get', '/v1/users/{id}/deposit-addresses/{chain}');
    const { address } = await documented<{ address: string }>(await call(`/v1/users/${user.id}/deposit-addresses/ethereum`), 'get', '/v1/users/{id}/deposit-addresses/{chain}');
    // Stands for what the EVM indexer books when it sees a deposit (indexers/evm test the real one).
    const [booked] = await writer.appendMany([
      {
        kind: 'deposit.pending',
        idempotencyKey: `ethereum:0x${'ab'.repeat(32)}:0:deposit.pending`,
        postings: [{ source: 'world:ethereum', destination: `deposits:ethereum:${address.toLowerCase()}:pending`, asset: 'ETH', amount: 1_500_000_000_000_000_000n }],
        metadata: { chain: 'ethereum', userId: user.id, address: address.toLowerCase(), txHash: `0x${'ab'.repeat(32)}`, logIndex: 0, blockHeight: 7, blockHash: `0x${'cd'.repeat(32)}` },
      },
    ]);
    assert.equal(booked!.status, 'created');
    await catchUp(db.pool, depositsProjection);
    const deposits = await documented<{ data: unknown[] }>(await call(`/v1/users/${user.id}/deposits`), 'get', '/v1/users/{id}/deposits');
    assert.equal(deposits.data.length, 1, 'a deposit was validated, not only an empty page');
    await documented(await call(`/v1/users/${user.id}/balances`), 'get', '/v1/users/{id}/balances');
  });

  test('ledger entries, a statement, balances, the trial balance, verification, assets', async () => {
    const body = JSON.stringify({ reason: 'openapi test', postings: [{ source: 'world:ethereum', destination: 'custody:ethereum:0x00000000000000000000000000000000000000aa', asset: 'ETH', amount: '42' }], metadata: { ticket: 7 } });
    const created = await documented<{ id: string }>(await call('/v1/ledger/entries', { method: 'POST', body, headers: { 'idempotency-key': 'openapi-1' } }), 'post', '/v1/ledger/entries', 201);
    await documented(await call('/v1/ledger/entries', { method: 'POST', body, headers: { 'idempotency-key': 'openapi-1' } }), 'post', '/v1/ledger/entries', 200);
    const page = await documented<{ data: unknown[] }>(await call('/v1/ledger/entries?limit=1'), 'get', '/v1/ledger/entries');
    assert.equal(page.data.length, 1);
    await documented(await call(`/v1/ledger/entries/${created.id}`), 'get', '/v1/ledger/entries/{id}');
    await documented(await call('/v1/ledger/accounts/custody:ethereum:0x00000000000000000000000000000000000000aa/statement?asset=ETH'), 'get', '/v1/ledger/accounts/{account}/statement');
    await documented(await call('/v1/ledger/balances?account=custody:*'), 'get', '/v1/ledger/balances');
    await documented(await call(`/v1/ledger/balances?asOfSequence=${created.id}&asOf=${encodeURIComponent(new Date().toISOString())}`), 'get', '/v1/ledger/balances');
    await documented(await call('/v1/ledger/trial-balance'), 'get', '/v1/ledger/trial-balance');
    await documented(await call('/v1/ledger/verify'), 'get', '/v1/ledger/verify');
    await documented(await call('/v1/ledger/assets'), 'get', '/v1/ledger/assets');
    await documented(await call('/v1/admin/indexers'), 'get', '/v1/admin/indexers');
  });

  test('a wallet, its policy, webhook, freeze, events and spends', async () => {
    const owner = await documented<{ id: string }>(await call('/v1/users', { method: 'POST', body: JSON.stringify({ nearAccountId: 'owner.coffer.testnet' }) }), 'post', '/v1/users', 201);
    await documented(await call('/v1/wallets', { method: 'POST', body: JSON.stringify({ id: 'openapi-agent', ownerUserId: owner.id }) }), 'post', '/v1/wallets', 201);
    const policy = { rules: [{ type: 'per_tx_cap', asset: 'ETH', max: '1000' }, { type: 'window_limit', asset: 'ETH', max: '5000', window: { rolling: '24h' } }] };
    await documented(await call('/v1/wallets/openapi-agent/policy', { method: 'PUT', body: JSON.stringify(policy) }), 'put', '/v1/wallets/{id}/policy');
    await documented(await call('/v1/wallets/openapi-agent/policy'), 'get', '/v1/wallets/{id}/policy');
    const wallet = await documented<{ budgets: unknown[] }>(await call('/v1/wallets/openapi-agent'), 'get', '/v1/wallets/{id}');
    assert.equal(wallet.budgets.length, 1, 'a budget was validated');
    await documented(await call('/v1/wallets/openapi-agent/webhook', { method: 'PUT', body: JSON.stringify({ url: 'https://example.test/hook' }) }), 'put', '/v1/wallets/{id}/webhook');
    await documented(await call('/v1/wallets/openapi-agent/freeze', { method: 'POST', body: JSON.stringify({ reason: 'openapi test' }) }), 'post', '/v1/wallets/{id}/freeze');
    await documented(await call('/v1/wallets/openapi-agent/unfreeze', { method: 'POST' }), 'post', '/v1/wallets/{id}/unfreeze');
    const agent = (await createApiKey(db.pool, { role: 'agent', walletId: 'openapi-agent' })).key;
    const spendBody = JSON.stringify({ to: '0x00000000000000000000000000000000000000b0', asset: 'ETH', amount: '10' });
    const spend = await documented<{ id: string }>(await call('/v1/wallets/openapi-agent/spends', { method: 'POST', key: agent, body: spendBody, headers: { 'idempotency-key': 'openapi-spend' } }), 'post', '/v1/wallets/{id}/spends', 202);
    await documented(await call('/v1/wallets/openapi-agent/spends', { method: 'POST', key: agent, body: spendBody, headers: { 'idempotency-key': 'openapi-spend' } }), 'post', '/v1/wallets/{id}/spends', 200);
    const spends = await documented<{ data: unknown[]; nextCursor: string | null }>(await call('/v1/wallets/openapi-agent/spends?limit=1'), 'get', '/v1/wallets/{id}/spends');
    assert.equal(spends.data.length, 1);
    assert.ok(spends.nextCursor, 'a full page has a cursor');
    await documented(await call(`/v1/spends/${spend.id}`), 'get', '/v1/spends/{id}');
    const events = await documented<{ data: unknown[] }>(await call('/v1/wallets/openapi-agent/events'), 'get', '/v1/wallets/{id}/events');
    assert.ok(events.data.length >= 4, 'policy, webhook, freeze, unfreeze and the spend are events');
  });
});

describe('the relayer, Defender\'s API and seed 002 answer as documented', () => {
  let bed: RelayBed;
  let headers: Record<string, string> = {};
  const recipient = '0x00000000000000000000000000000000000c0ffe';
  const mine = (automine: boolean) => bed.client.request({ method: 'evm_setAutomine' as never, params: [automine] as never });

  before(async () => {
    bed = await createRelayBed();
  });
  after(async () => {
    await bed?.close();
  });

  const at = (path: string, init: RequestInit = {}) => fetch(`${bed.url}${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
  const send = (value: string) => at('/relayers/self/txs', { method: 'POST', body: JSON.stringify({ to: recipient, value, speed: 'fast', gasLimit: 21_000 }) });

  test('login, refresh, the relayer and its status', async () => {
    const credentials = { apiKey: bed.apiKey, secretKey: bed.apiSecret };
    const json = { 'Content-Type': 'application/json' };
    const tokens = await documented<{ accessToken: string; refreshToken: string }>(
      await fetch(`${bed.url}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ ...credentials, type: 'relay' }) }),
      'post',
      '/auth/login',
    );
    await documented(await fetch(`${bed.url}/auth/refresh-token`, { method: 'POST', headers: json, body: JSON.stringify({ ...credentials, refreshToken: tokens.refreshToken }) }), 'post', '/auth/refresh-token');
    headers = { ...json, 'X-Api-Key': bed.apiKey, Authorization: `Bearer ${tokens.accessToken}` };
    await documented(await at('/relayers/self'), 'get', '/relayers/self');
    await documented(await at('/relayers/self/status'), 'get', '/relayers/self/status');
  });

  test('send, list, get, replace and cancel while the chain does not mine', async () => {
    bed.monitor.paused = true;
    await mine(false);
    try {
      const first = await documented<{ transactionId: string; nonce: number }>(await send('0x1'), 'post', '/relayers/self/txs');
      await documented(await at(`/relayers/self/txs/${first.transactionId}`), 'get', '/relayers/self/txs/{id}');
      await documented(await at(`/relayers/self/txs/${first.nonce}?nonce=true`), 'get', '/relayers/self/txs/{id}');
      const replacement = JSON.stringify({ to: recipient, value: '0x2', speed: 'fastest', gasLimit: 21_000 });
      await documented(await at(`/relayers/self/txs/${first.transactionId}`, { method: 'PUT', body: replacement }), 'put', '/relayers/self/txs/{id}');
      const second = await documented<{ transactionId: string }>(await send('0x3'), 'post', '/relayers/self/txs');
      await documented(await at(`/relayers/self/txs/${second.transactionId}`, { method: 'DELETE' }), 'delete', '/relayers/self/txs/{id}');
      const list = await documented<unknown[]>(await at('/relayers/self/txs?limit=5'), 'get', '/relayers/self/txs');
      assert.equal(list.length, 2);
      const paged = await documented<{ items: unknown[]; next?: string }>(await at('/relayers/self/txs?usePagination=true&limit=1'), 'get', '/relayers/self/txs');
      assert.ok(paged.next, 'a page with a next was validated');
      await documented(await at('/relayers/self/status'), 'get', '/relayers/self/status');
    } finally {
      await mine(true);
      bed.monitor.paused = false;
    }
  });

  test('sign, sign typed data, JSON-RPC answers and errors', async () => {
    await documented(await at('/relayers/self/sign', { method: 'POST', body: JSON.stringify({ message: '0xdeadbeef' }) }), 'post', '/relayers/self/sign');
    await documented(
      await at('/relayers/self/sign-typed-data', { method: 'POST', body: JSON.stringify({ domainSeparator: `0x${'11'.repeat(32)}`, hashStructMessage: `0x${'22'.repeat(32)}` }) }),
      'post',
      '/relayers/self/sign-typed-data',
    );
    await documented(await at('/relayers/self/jsonrpc', { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' }) }), 'post', '/relayers/self/jsonrpc');
    const refused = await documented<{ error?: object }>(await at('/relayers/self/jsonrpc', { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 'x', method: 'eth_sendTransaction' }) }), 'post', '/relayers/self/jsonrpc');
    assert.ok(refused.error);
  });

  test('seed 002\'s relay, its transaction once mined, the relayer\'s balance', async () => {
    const secret = { 'Content-Type': 'application/json', 'X-Api-Key': bed.apiKey, 'X-Api-Secret': bed.apiSecret };
    const sent = await documented<{ transactionId: string }>(
      await fetch(`${bed.url}/relay`, { method: 'POST', headers: secret, body: JSON.stringify({ to: recipient, data: '0x', gasLimit: 21_000, speed: 'fast' }) }),
      'post',
      '/relay',
      201,
    );
    const deadline = Date.now() + 20_000;
    for (;;) {
      const seen = await documented<{ status: string }>(await fetch(`${bed.url}/relay/${sent.transactionId}`, { headers: secret }), 'get', '/relay/{id}');
      if (seen.status === 'confirmed') break;
      assert.ok(Date.now() < deadline, `the relayed transaction was not confirmed within 20 s (status ${seen.status})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await documented(await fetch(`${bed.url}/relayer`, { headers: secret }), 'get', '/relayer');
    const status = await documented<{ lastConfirmedTransaction?: object }>(await at('/relayers/self/status'), 'get', '/relayers/self/status');
    assert.ok(status.lastConfirmedTransaction, 'a last confirmed transaction was validated');
  });

  test('the refills an operator sees', async () => {
    const operator = (await createApiKey(bed.db.pool, { role: 'operator' })).key;
    const refills = await documented<{ targets: unknown[]; history: unknown[] }>(await fetch(`${bed.url}/v1/admin/refills`, { headers: { authorization: `Bearer ${operator}` } }), 'get', '/v1/admin/refills');
    assert.ok(refills.targets.length > 0 && refills.history.length > 0, 'targets and history were validated');
  });
});

describe('the paymaster service, its policy and decisions answer as documented', () => {
  let db: TestDatabase;
  let writer: LedgerWriter;
  let app: ReturnType<typeof createApp>;
  let operator: string;
  let sponsorKey: string;
  const entryPoint = '0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108';

  before(async () => {
    db = await createTestDatabase();
    writer = new LedgerWriter({ pool: db.pool });
    // The service signs locally and reads only the database: no chain is needed to answer.
    const sponsor: SponsorContext = {
      pool: db.pool, logger: silentLogger, chainId: 31_337, entryPoint, paymaster: '0x0165878A594ca255338adfa4d48449f69242Eb8F',
      signer: inMemorySigner('paymaster-signer'),
      validitySeconds: 300, paymasterVerificationGasLimit: 60_000n, signaturesPerMinuteMax: 10, unincludedMax: 5,
    };
    app = createApp({ pool: db.pool, writer, logger: silentLogger, sponsor });
    operator = (await createApiKey(db.pool, { role: 'operator' })).key;
    sponsorKey = (await createApiKey(db.pool, { role: 'sponsor' })).key;
  });
  after(async () => {
    await writer.close();
    await db.drop();
  });

  const call = (path: string, init: RequestInit & { key?: string } = {}) =>
    app.request(path, { ...init, headers: { authorization: `Bearer ${init.key ?? operator}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
  const rpc = (method: string, sender: string, nonce: number) =>
    JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [unsignedUserOperation(sender, nonce), entryPoint, '0x7a69', null] });

  test('the policy, a stub, a signature, a refusal, the decisions', async () => {
    const policy = { rules: [{ type: 'per_sender', maxCount: 1, window: { rolling: '24h' } }] };
    const stored = await documented<{ version: number }>(await call('/v1/paymaster/policy', { method: 'PUT', body: JSON.stringify(policy) }), 'put', '/v1/paymaster/policy');
    assert.equal((await documented<{ version: number }>(await call('/v1/paymaster/policy'), 'get', '/v1/paymaster/policy')).version, stored.version);
    const sender = '0x00000000000000000000000000000000000000a1';
    const stub = await documented<{ result?: { isFinal: boolean } }>(await call('/v1/paymaster', { method: 'POST', key: sponsorKey, body: rpc('pm_getPaymasterStubData', sender, 0) }), 'post', '/v1/paymaster');
    assert.equal(stub.result?.isFinal, false);
    const signed = await documented<{ result?: { paymasterData: string } }>(await app.request(`/v1/paymaster?apikey=${sponsorKey}`, { method: 'POST', body: rpc('pm_getPaymasterData', sender, 0) }), 'post', '/v1/paymaster');
    assert.ok(signed.result?.paymasterData.startsWith('0x'), 'signed with the key in the query');
    const refused = await documented<{ error?: { code: number; data: { reason: string } } }>(await call('/v1/paymaster', { method: 'POST', key: sponsorKey, body: rpc('pm_getPaymasterData', sender, 1) }), 'post', '/v1/paymaster');
    assert.equal(refused.error?.data.reason, 'sender_count_exceeded');
    await documented(await app.request('/v1/paymaster', { method: 'POST', body: rpc('pm_getPaymasterData', sender, 1) }), 'post', '/v1/paymaster', 401);
    const decisions = await documented<{ decisions: { outcome: string }[] }>(await call(`/v1/paymaster/decisions?sender=${sender}`), 'get', '/v1/paymaster/decisions');
    assert.deepEqual(decisions.decisions.map((d) => d.outcome), ['refused', 'signed', 'stub']);
  });
});
