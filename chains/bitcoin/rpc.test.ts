import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../devnets/index.ts';
import { createBitcoinRpc, isNotFound, BitcoinRpcError, BitcoinRpcTransportError } from './rpc.ts';

/**
 * Bitcoin Core cannot run here (no bitcoind), so this double answers the way Core's legacy
 * JSON-RPC does (src/httprpc.cpp): HTTP 500 with a JSON error body, 404 for an unknown method,
 * 401 without a body for a wrong password. bcoin's dialect is tested against the real node.
 */
async function coreTransportDouble(): Promise<{ url: string; requests: Array<{ authorization?: string; body: unknown }>; close(): Promise<void> }> {
  const requests: Array<{ authorization?: string; body: unknown }> = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(text) as { id: number; method: string; params: unknown[] };
      requests.push({ authorization: request.headers.authorization, body });
      if (request.headers.authorization !== `Basic ${Buffer.from('alice:s3cret').toString('base64')}`) {
        response.writeHead(401).end();
        return;
      }
      const reply = (status: number, result: unknown, error: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ result, error, id: body.id }));
      if (body.method === 'getblockcount') reply(200, 812, null);
      else if (body.method === 'getmempoolentry') reply(500, null, { code: -5, message: 'Transaction not in mempool' });
      else reply(404, null, { code: -32601, message: 'Method not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://alice:s3cret@127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('the Bitcoin RPC client', () => {
  test("Core's transport: basic auth from the URL, errors in HTTP 500/404 bodies become named errors with the code", async () => {
    const core = await coreTransportDouble();
    try {
      const rpc = createBitcoinRpc({ url: core.url });
      assert.equal(await rpc.getBlockCount(), 812);
      assert.deepEqual(core.requests[0]!.body, { jsonrpc: '1.0', id: 1, method: 'getblockcount', params: [] });
      assert.equal(await rpc.getMempoolEntry('ab'.repeat(32)), null);
      const unknown = await rpc.call('getblockstats').then(() => null, (error: unknown) => error);
      assert.ok(unknown instanceof BitcoinRpcError);
      assert.equal(unknown.rpcCode, -32601);
      assert.equal(unknown.method, 'getblockstats');
      assert.equal(isNotFound(unknown), false);

      const wrong = createBitcoinRpc({ url: core.url.replace('s3cret', 'guess') });
      const refusal = await wrong.getBlockCount().then(() => null, (error: unknown) => error);
      assert.ok(refusal instanceof BitcoinRpcTransportError);
      assert.doesNotMatch(String(refusal), /guess|s3cret|alice/);
    } finally {
      await core.close();
    }
  });

  test('not found in both dialects', () => {
    assert.equal(isNotFound(new BitcoinRpcError('getrawtransaction', -5, 'No such mempool or blockchain transaction')), true);
    assert.equal(isNotFound(new BitcoinRpcError('getrawtransaction', -1, 'Transaction not found.')), true);
    assert.equal(isNotFound(new BitcoinRpcError('getblockheader', -1, 'Block not found')), true);
    assert.equal(isNotFound(new BitcoinRpcError('getblock', -1, 'Invalid block hash.')), false);
    assert.equal(isNotFound(new Error('Transaction not found')), false);
  });

  test('a node that is not there is a transport error that names the host, not the credentials', async () => {
    const port = await freePort();
    const rpc = createBitcoinRpc({ url: `http://bob:hunter2@127.0.0.1:${port}`, timeoutMs: 2_000 });
    const failure = await rpc.getBlockCount().then(() => null, (error: unknown) => error);
    assert.ok(failure instanceof BitcoinRpcTransportError);
    assert.match(failure.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(failure.message, /hunter2|bob/);
  });
});
