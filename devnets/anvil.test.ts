import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAnvil } from './index.ts';

describe('the anvil devnet', () => {
  test('starts on free ports, side by side, and stops', async () => {
    const [a, b] = await Promise.all([startAnvil(), startAnvil({ chainId: 1_337 })]);
    try {
      assert.notEqual(a.port, b.port);
      assert.notEqual(a.port, 8545);
      assert.deepEqual([a.chainId, b.chainId], [31_337, 1_337]);
      assert.equal(a.accounts.length, 10);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    await assert.rejects(a.rpc('eth_blockNumber'));
  });

  test('anvil_reorg replaces blocks at the same height and drops their transactions', async () => {
    const anvil = await startAnvil();
    try {
      const [from, to] = anvil.accounts;
      const hash = await anvil.rpc<string>('eth_sendTransaction', [{ from, to, value: '0x1' }]);
      await anvil.rpc('anvil_mine', ['0x3']);
      const before = await anvil.rpc<{ hash: string }>('eth_getBlockByNumber', ['0x1', false]);
      await anvil.rpc('anvil_reorg', [4, [[{ from, to: from, value: '0x2' }, 0]]]);
      const after = await anvil.rpc<{ hash: string }>('eth_getBlockByNumber', ['0x1', false]);
      assert.notEqual(after.hash, before.hash);
      assert.equal(await anvil.rpc('eth_getTransactionReceipt', [hash]), null);
      assert.equal(Number(await anvil.rpc<string>('eth_blockNumber')), 4);
    } finally {
      await anvil.stop();
    }
  });
});
