// The API's edge over real HTTP: malformed ids and NUL bytes answer 400 (never 500), an oversized
// body answers 413 without costing the keep-alive connection, and EVM addresses in account
// filters match whatever their case.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { ServerType } from '@hono/node-server';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import { silentLogger } from '../infra/index.ts';
import { LedgerWriter, normalizeAccount } from '../ledger/index.ts';
import { rootKeys } from '../signer/index.ts';
import { createApiKey } from '../access/index.ts';
import { startApiServer } from './index.ts';

let db: TestDatabase;
let writer: LedgerWriter;
let server: ServerType;
let baseUrl: string;
let operator: string;
const requestTimeoutMs = 10_000;

before(async () => {
  db = await createTestDatabase();
  writer = new LedgerWriter({ pool: db.pool });
  const keys = { nearNetwork: 'testnet' as const, secp256k1Root: rootKeys.testnet.secp256k1, predecessor: 'coffer.testnet' };
  const started = await startApiServer({ pool: db.pool, writer, logger: silentLogger, wallets: { keys, webhookRoot: Buffer.alloc(32, 7) } }, { port: 0, hostname: '127.0.0.1' });
  server = started.server;
  baseUrl = `http://127.0.0.1:${started.port}`;
  operator = (await createApiKey(db.pool, { role: 'operator' })).key;
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await writer.close();
  await db.drop();
});

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One request over `agent`; fails with what it waited for if the server neither answers nor closes. */
function send(agent: http.Agent, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // Node sends a GET's body with neither Content-Length nor chunking unless told: say its length.
    const length = body === undefined || headers['transfer-encoding'] ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const request = http.request(`${baseUrl}${path}`, { method, agent, headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json', ...length, ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: response.headers }));
      response.on('error', reject);
    });
    request.setTimeout(requestTimeoutMs, () => request.destroy(new Error(`no answer to ${method} ${path.slice(0, 60)} within ${requestTimeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

const code = (answer: Answer, what = ""): string => {
  assert.match(String(answer.headers['content-type']), /json/, `${what} ${answer.status} ${answer.body} ${JSON.stringify(answer.headers)}`);
  return (JSON.parse(answer.body) as { code: string }).code;
};

describe('the API edge', () => {
  test('a malformed or NUL-carrying id answers 400 on every {id} route, never 500', async () => {
    const agent = new http.Agent({ keepAlive: true });
    try {
      const routes: [string, string][] = [
        ['GET', '/v1/users/{id}'],
        ['GET', '/v1/users/{id}/deposit-addresses/ethereum'],
        ['GET', '/v1/users/{id}/deposits'],
        ['GET', '/v1/users/{id}/balances'],
        ['GET', '/v1/wallets/{id}'],
        ['GET', '/v1/wallets/{id}/policy'],
        ['PUT', '/v1/wallets/{id}/policy'],
        ['POST', '/v1/wallets/{id}/freeze'],
        ['POST', '/v1/wallets/{id}/unfreeze'],
        ['PUT', '/v1/wallets/{id}/webhook'],
        ['GET', '/v1/wallets/{id}/events'],
        ['GET', '/v1/wallets/{id}/spends'],
        ['POST', '/v1/wallets/{id}/spends'],
        ['GET', '/v1/spends/{id}'],
        ['POST', '/v1/spends/{id}/approve'],
        ['POST', '/v1/spends/{id}/reject'],
        ['GET', '/v1/forwarder/requests/{id}'],
        ['GET', '/v1/ledger/entries/{id}'],
        ['GET', '/v1/ledger/accounts/{id}/statement?asset=ETH'],
      ];
      for (const [method, route] of routes) {
        const nul = await send(agent, method, route.replace('{id}', 'abc%00def'), '{}', { 'idempotency-key': 'k' });
        assert.equal(nul.status, 400, `${method} ${route} with NUL: ${nul.body}`);
        const malformed = await send(agent, method, route.replace('{id}', encodeURIComponent('Ünïcödé'.repeat(40))), '{}', { 'idempotency-key': 'k' });
        assert.equal(malformed.status, 400, `${method} ${route} malformed: ${malformed.body}`);
        assert.equal(code(malformed, `${method} ${route}`), "invalid_id");
      }
      const wellFormed = await send(agent, 'GET', '/v1/users/nosuchuser000000');
      assert.equal(wellFormed.status, 404, 'a well-formed id that names nothing is still a 404');
    } finally {
      agent.destroy();
    }
  });

  test('a NUL inside a JSON string is a 400, not a refused query', async () => {
    const agent = new http.Agent({ keepAlive: true });
    try {
      const user = await send(agent, 'POST', '/v1/users', JSON.stringify({ nearAccountId: 'a\u0000b.testnet' }));
      assert.equal(user.status, 400, user.body);
      assert.equal(code(user), 'invalid_body');
      const entry = await send(
        agent,
        'POST',
        '/v1/ledger/entries',
        JSON.stringify({ reason: 'nul in metadata', postings: [{ source: 'world:ethereum', destination: 'treasury:ethereum', asset: 'ETH', amount: '1' }], metadata: { note: 'x\u0000' } }),
        { 'idempotency-key': 'nul-1' },
      );
      assert.equal(entry.status, 400, entry.body);
      // An escaped backslash before u0000 is ordinary text, not a NUL.
      const text = await send(agent, 'POST', '/v1/users', JSON.stringify({ nearAccountId: 'x\\u0000' }));
      assert.notEqual(text.status, 500);
      assert.notEqual(code(text), 'invalid_body');
    } finally {
      agent.destroy();
    }
  });

  test('six 600 KB bodies on one keep-alive connection each answer 413, and the next request works', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    try {
      const big = Buffer.alloc(600 * 1024, 0x61);
      for (let index = 0; index < 6; index += 1) {
        const answer = await send(agent, 'POST', '/v1/ledger/entries', big, { 'idempotency-key': `big-${index}` });
        assert.equal(answer.status, 413, `request ${index + 1}: ${answer.body}`);
        assert.equal(code(answer), 'body_too_large');
      }
      const after = await send(agent, 'GET', '/v1/ledger/assets');
      assert.equal(after.status, 200, after.body);
      assert.equal(sockets.size, 1, 'every request went over the same kept-alive connection');
      const chunked = await send(agent, 'POST', '/v1/users', big, { 'transfer-encoding': 'chunked' });
      assert.equal(chunked.status, 413, chunked.body);
      assert.equal((await send(agent, 'GET', '/v1/ledger/assets')).status, 200);
    } finally {
      agent.destroy();
    }
  });

  test('an EVM address in an account matches in any case; other segments keep theirs', async () => {
    const address = '0x52908400098527886E0F7030069857D2E4169EE7';
    assert.equal(normalizeAccount(`relayers:ethereum:${address}`), `relayers:ethereum:${address.toLowerCase()}`);
    assert.equal(normalizeAccount(`custody:ethereum:${address}:*`), `custody:ethereum:${address.toLowerCase()}:*`);
    assert.equal(normalizeAccount('custody:solana:Bbr9WKuaeMQF1LUVfTZ8SjVP3NY6YKnBJRn9DcjPWSzr'), 'custody:solana:Bbr9WKuaeMQF1LUVfTZ8SjVP3NY6YKnBJRn9DcjPWSzr');
    assert.equal(normalizeAccount('users:0xAB:main'), 'users:0xAB:main', 'not 20 bytes, so not an address');

    const agent = new http.Agent({ keepAlive: true });
    try {
      const posted = await send(
        agent,
        'POST',
        '/v1/ledger/entries',
        JSON.stringify({ reason: 'checksummed destination', postings: [{ source: 'world:ethereum', destination: `relayers:ethereum:${address}`, asset: 'ETH', amount: '7' }] }),
        { 'idempotency-key': 'case-1' },
      );
      assert.equal(posted.status, 201, posted.body);
      const stored = JSON.parse(posted.body) as { postings: { destination: string }[] };
      assert.equal(stored.postings[0]!.destination, `relayers:ethereum:${address.toLowerCase()}`);
      for (const spelling of [address, address.toLowerCase(), `0x${address.slice(2).toUpperCase()}`]) {
        const entries = JSON.parse((await send(agent, 'GET', `/v1/ledger/entries?account=relayers:ethereum:${spelling}`)).body) as { data: unknown[] };
        assert.equal(entries.data.length, 1, `entries for ${spelling}`);
        const balances = JSON.parse((await send(agent, 'GET', `/v1/ledger/balances?account=relayers:ethereum:${spelling}&asset=ETH`)).body) as { data: { balance: string }[] };
        assert.deepEqual(balances.data.map((b) => b.balance), ['7'], `balances for ${spelling}`);
        const statement = await send(agent, 'GET', `/v1/ledger/accounts/relayers:ethereum:${spelling}/statement?asset=ETH`);
        assert.equal(statement.status, 200, `statement for ${spelling}: ${statement.body}`);
      }
    } finally {
      agent.destroy();
    }
  });
});
