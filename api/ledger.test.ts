import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter } from '../ledger/index.ts';
import { createApiKey } from '../access/index.ts';
import { createApp } from './index.ts';
import { rootKeys } from '../signer/index.ts';
import { createUser } from '../users/index.ts';
import { createWallet } from '../wallets/index.ts';

let db: TestDatabase;
let writer: LedgerWriter;
let redis: Redis;
let app: ReturnType<typeof createApp>;
let operator: string;
let auditor: string;
let agent: string;

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  app = createApp({ pool: db.pool, writer, logger: silentLogger, redis, redisKeyPrefix: `${db.name}:`, rateLimitPerMinute: 100_000 });
  operator = (await createApiKey(db.pool, { role: 'operator', name: 'ops' })).key;
  auditor = (await createApiKey(db.pool, { role: 'auditor' })).key;
  const owner = await createUser(db.pool, { nearAccountId: 'wallet-owner.testnet' });
  await createWallet(db.pool, { nearNetwork: 'testnet', secp256k1Root: rootKeys.testnet.secp256k1, predecessor: 'coffer.testnet' }, { id: 'agent-wallet', ownerUserId: owner.id, actor: 'test' });
  agent = (await createApiKey(db.pool, { role: 'agent', walletId: 'agent-wallet' })).key;
});
after(async () => {
  const keys = await redis.keys(`${db.name}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await writer.close();
  await db.drop();
});

const call = (path: string, init: RequestInit & { key?: string } = {}) =>
  app.request(path, { ...init, headers: { ...(init.key ? { authorization: `Bearer ${init.key}` } : {}), ...(init.headers as Record<string, string>) } });
const post = (body: unknown, idempotencyKey: string | null = 'k', key = operator) =>
  call('/v1/ledger/entries', {
    method: 'POST',
    key,
    headers: { 'content-type': 'application/json', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const adjustment = (amount: string, destination = 'custody:ethereum:0xapi') => ({
  reason: 'opening balance from the old system',
  postings: [{ source: 'world:ethereum', destination, asset: 'ETH', amount }],
  effectiveAt: '2026-03-01T12:00:00Z',
});

describe('the ledger API', () => {
  test('health, readiness, OpenAPI and the docs page answer without a key', async () => {
    assert.equal((await call('/health')).status, 200);
    const ready = await call('/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { checks: object }).checks, { postgres: 'ok', redis: 'ok' });
    const spec = (await (await call('/openapi.json')).json()) as { paths: Record<string, unknown> };
    assert.ok(spec.paths['/v1/ledger/entries']);
    assert.match(await (await call('/docs')).text(), /coffer API/);
    assert.match(await (await call('/metrics')).text(), /coffer_journal_head_sequence/);
  });

  test('keys are required, checked, and scoped by role', async () => {
    const none = await call('/v1/ledger/entries');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('content-type'), 'application/problem+json');
    assert.equal(((await none.json()) as { code: string }).code, 'unauthorized');
    assert.equal((await call('/v1/ledger/entries', { key: operator.slice(0, -1) + 'x' })).status, 401);
    assert.equal((await call('/v1/ledger/entries', { key: agent })).status, 403);
    assert.equal((await post(adjustment('1'), 'auditor-try', auditor)).status, 403);
    const rows = await db.pool.query('SELECT secret_hash FROM api_keys');
    assert.ok(rows.rows.every((row: { secret_hash: Buffer }) => !operator.includes(row.secret_hash.toString('base64url'))));
  });

  test('a manual entry: 201, then 200 with the original, 409 on another body, 422 on a floor breach', async () => {
    const createdResponse = await post(adjustment('1500'), 'opening-1');
    assert.equal(createdResponse.status, 201);
    const created = (await createdResponse.json()) as { id: string; metadata: { reason: string }; postings: { amount: string }[] };
    assert.equal(created.metadata.reason, 'opening balance from the old system');
    assert.equal(created.postings[0]!.amount, '1500');
    const replay = await post(adjustment('1500'), 'opening-1');
    assert.equal(replay.status, 200);
    assert.equal(((await replay.json()) as { id: string }).id, created.id);
    const conflict = await post(adjustment('1501'), 'opening-1');
    assert.equal(conflict.status, 409);
    assert.equal(((await conflict.json()) as { code: string }).code, 'idempotency_conflict');
    const overdraw = await post({ reason: 'move too much', postings: [{ source: 'custody:ethereum:0xapi', destination: 'treasury:ethereum', asset: 'ETH', amount: '999999' }] }, 'overdraw-1');
    assert.equal(overdraw.status, 422);
    assert.equal(((await overdraw.json()) as { code: string }).code, 'floor_breach');
    const again = await post({ reason: 'move too much', postings: [{ source: 'custody:ethereum:0xapi', destination: 'treasury:ethereum', asset: 'ETH', amount: '999999' }] }, 'overdraw-1');
    assert.equal(again.status, 422);
  });

  test('bad input gets a 4xx with a code and changes nothing', async () => {
    const before = await (await call('/v1/ledger/trial-balance', { key: auditor })).text();
    const cases: [unknown, string | null, number, string][] = [
      [adjustment('1'), null, 400, 'idempotency_key_required'],
      ['{not json', 'bad-1', 400, 'invalid_json'],
      [{ ...adjustment('1'), extra: true }, 'bad-2', 400, 'invalid_request'],
      [adjustment('1.5'), 'bad-3', 422, 'invalid_amount'],
      [adjustment('0'), 'bad-4', 422, 'invalid_amount'],
      [adjustment('-3'), 'bad-5', 422, 'invalid_amount'],
      [adjustment('1e18'), 'bad-6', 422, 'invalid_amount'],
      [adjustment('1', 'NotAnAccount'), 'bad-7', 422, 'invalid_account'],
      [{ reason: 'x y z', postings: [{ source: 'a:b', destination: 'a:b', asset: 'ETH', amount: '1' }] }, 'bad-8', 422, 'invalid_posting'],
      [{ reason: 'unknown asset', postings: [{ source: 'world:x', destination: 'users:1:x', asset: 'DOGE', amount: '1' }] }, 'bad-9', 422, 'unknown_asset'],
    ];
    for (const [body, key, status, code] of cases) {
      const response = await post(body, key);
      assert.equal(response.status, status, `${JSON.stringify(body)} → ${await response.clone().text()}`);
      assert.equal(((await response.json()) as { code: string }).code, code);
    }
    assert.equal((await call('/v1/ledger/entries?limit=0', { key: auditor })).status, 400);
    assert.equal((await call('/v1/ledger/entries?from=yesterday', { key: auditor })).status, 400);
    assert.equal((await call('/v1/ledger/entries?account=Bad!', { key: auditor })).status, 422);
    assert.equal((await call('/v1/ledger/entries/abc', { key: auditor })).status, 400);
    assert.equal((await call('/v1/ledger/entries/99999', { key: auditor })).status, 404);
    assert.equal((await call('/v1/ledger/balances?asOfSequence=-1', { key: auditor })).status, 400);
    assert.equal(await (await call('/v1/ledger/trial-balance', { key: auditor })).text(), before);
  });

  test('random bodies and queries never produce a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), fc.string(), fc.record({ reason: fc.string(), postings: fc.array(fc.record({ source: fc.string(), destination: fc.string(), asset: fc.string(), amount: fc.string() })) })), async (body) => {
        const response = await post(body, `fuzz-${Math.random()}`);
        assert.ok(response.status < 500, `${response.status} for ${JSON.stringify(body)}`);
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom('account', 'asset', 'kind', 'from', 'to', 'after', 'limit', 'asOf', 'asOfSequence'), fc.string()), async (query) => {
        for (const path of ['/v1/ledger/entries', '/v1/ledger/balances', '/v1/ledger/trial-balance']) {
          const response = await call(`${path}?${new URLSearchParams(query).toString()}`, { key: auditor });
          assert.ok(response.status < 500, `${response.status} for ${path} ${JSON.stringify(query)}`);
        }
      }),
      { numRuns: 100 },
    );
  });

  test('entries page with a cursor, and export as CSV and NDJSON', async () => {
    for (let i = 0; i < 5; i += 1) assert.equal((await post(adjustment(String(10 + i), `custody:ethereum:0xpage${i}`), `page-${i}`)).status, 201);
    const first = (await (await call('/v1/ledger/entries?account=custody:ethereum:*&limit=3', { key: auditor })).json()) as { data: { id: string }[]; nextCursor: string };
    assert.equal(first.data.length, 3);
    const second = (await (await call(`/v1/ledger/entries?account=custody:ethereum:*&limit=3&after=${first.nextCursor}`, { key: auditor })).json()) as { data: { id: string }[]; nextCursor: string | null };
    assert.equal(second.data.length, 3);
    assert.ok(BigInt(second.data[0]!.id) > BigInt(first.data[2]!.id));
    const csv = await call('/v1/ledger/entries?kind=adjustment', { key: auditor, headers: { accept: 'text/csv' } });
    assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
    const lines = (await csv.text()).trim().split('\n');
    assert.equal(lines[0], 'entry_id,effective_at,inserted_at,kind,idempotency_key,posting_index,source,destination,asset,amount');
    assert.equal(lines.length, 1 + 6);
    const ndjson = await call('/v1/ledger/entries?kind=adjustment', { key: auditor, headers: { accept: 'application/x-ndjson' } });
    const objects = (await ndjson.text()).trim().split('\n').map((line) => JSON.parse(line) as { kind: string });
    assert.equal(objects.length, 6);
    assert.ok(objects.every((o) => o.kind === 'adjustment'));
  });

  test('balances, statements and trial balance, now and as of a time', async () => {
    const now = (await (await call('/v1/ledger/balances?account=custody:ethereum:0xapi', { key: auditor })).json()) as { data: { balance: string; formatted: string }[] };
    assert.deepEqual(now.data.map((r) => [r.balance, r.formatted]), [['1500', '0.0000000000000015']]);
    const before = (await (await call('/v1/ledger/balances?account=custody:ethereum:0xapi&asOf=2026-02-01T00:00:00Z', { key: auditor })).json()) as { data: unknown[] };
    assert.deepEqual(before.data, []);
    const trial = (await (await call('/v1/ledger/trial-balance', { key: auditor })).json()) as { balanced: boolean };
    assert.equal(trial.balanced, true);
    const statement = (await (await call('/v1/ledger/accounts/custody:ethereum:0xapi/statement?asset=ETH', { key: auditor })).json()) as { data: { balanceAfter: string }[] };
    assert.deepEqual(statement.data.map((l) => l.balanceAfter), ['1500']);
    const verify = (await (await call('/v1/ledger/verify', { key: auditor })).json()) as { ok: boolean };
    assert.equal(verify.ok, true);
  });
});
