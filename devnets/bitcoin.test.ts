import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBitcoinRpc, decodeWif, p2wpkhAddress, BitcoinRpcTransportError } from '../chains/bitcoin/index.ts';
import { bitcoinSegwitActivationHeight, describeBitcoinDevnet, startBitcoinDevnet } from './index.ts';

describe('the bcoin devnet', () => {
  test('starts on a free port with segwit active, a faucet key, and credentials of its own; stops', async (t) => {
    const startedAt = performance.now();
    const devnet = await startBitcoinDevnet();
    const startMs = Math.round(performance.now() - startedAt);
    try {
      const url = new URL(devnet.rpcUrl);
      assert.equal(url.hostname, '127.0.0.1');
      assert.equal(Number(url.port), devnet.port);
      assert.notEqual(devnet.port, 48332);
      assert.ok(url.username && url.password.length >= 32);
      assert.equal(await devnet.rpc('getblockcount'), bitcoinSegwitActivationHeight);
      const info = await devnet.rpc<{ chain: string; bip9_softforks: { segwit: { status: string } } }>('getblockchaininfo');
      assert.equal(info.chain, 'regtest');
      assert.equal(info.bip9_softforks.segwit.status, 'active');
      // No P2P: no peers, none being dialled.
      assert.deepEqual(await devnet.rpc('getpeerinfo'), []);

      const { privateKey, networks } = decodeWif(devnet.faucet.wif);
      assert.deepEqual(networks, ['bcoin-regtest']);
      assert.equal(privateKey.length, 32);
      assert.equal(devnet.faucet.address, p2wpkhAddress({ publicKey: devnet.faucet.publicKey, network: 'bcoin-regtest' }));
      assert.match(devnet.faucet.address, /^rb1q/);

      const line = JSON.stringify(describeBitcoinDevnet(devnet));
      assert.equal(line, `{"chain":"bitcoin","rpcUrl":"${devnet.rpcUrl}","faucet":{"wif":"${devnet.faucet.wif}"}}`);

      const wrongPassword = createBitcoinRpc({ url: `http://${url.username}:not-it@127.0.0.1:${devnet.port}` });
      const refusal = await wrongPassword.getBlockCount().then(() => null, (error: unknown) => error);
      assert.ok(refusal instanceof BitcoinRpcTransportError);
      assert.match(refusal.message, /refused the RPC credentials/);
      assert.doesNotMatch(refusal.message, new RegExp(url.password));
      t.diagnostic(`bcoin devnet start (spawn, ${bitcoinSegwitActivationHeight} blocks, checks): ${startMs} ms`);
    } finally {
      await devnet.stop();
    }
    await assert.rejects(devnet.rpc('getblockcount'), BitcoinRpcTransportError);
  });
});
